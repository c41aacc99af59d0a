"""Neural networks used by the lab's experiments."""

from typing import TypeVar, cast

import torch
import torch.nn.functional as F
from torch import nn

M = TypeVar("M", bound=nn.Module)

# --- ResNet-20 for CIFAR-10 (He et al., 2016, section 4.2) -------------------


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus an identity shortcut ("option A").

    When the block halves the resolution and doubles the channels, the
    shortcut subsamples by 2 and zero-pads the new channels, so it adds no
    parameters.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.stride = stride
        extra_channels = out_channels - in_channels
        self.identity_shortcut = stride == 1 and extra_channels == 0
        self.channel_padding = (extra_channels // 2, extra_channels - extra_channels // 2)
        if not self.identity_shortcut:
            # The same shortcut as a fixed 1x1 convolution with 0/1 weights, for
            # oneDNN tensors: they cannot be sliced or padded, and converting
            # them to ordinary tensors and back costs more than this.
            first = self.channel_padding[0]
            selection = torch.zeros(out_channels, in_channels, 1, 1)
            selection[first : first + in_channels, :, 0, 0] = torch.eye(in_channels)
            self.register_buffer("selection", selection, persistent=False)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.identity_shortcut:
            return x
        if x.is_mkldnn:
            return F.conv2d(x, cast(torch.Tensor, self.selection), stride=self.stride)
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, *self.channel_padding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    """3 stages of `blocks_per_stage` basic blocks at 16, 32, 64 channels."""

    def __init__(self, blocks_per_stage: int = 3, num_classes: int = 10):
        super().__init__()
        widths = (16, 32, 64)
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, in_channels = [], widths[0]
        for stage, width in enumerate(widths):
            blocks = []
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(BasicBlock(in_channels, width, stride))
                in_channels = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.stages(x)
        if x.is_mkldnn:  # oneDNN's own average pooling has a slow backward
            x = x.to_dense().float()
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def kaiming_init_(model: M, generator: torch.Generator | None = None) -> M:
    """He-normal weights for convs and the classifier; BN starts as identity.

    Every random draw comes from `generator`, so a seed fixes the whole model
    without touching the global RNG.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, generator=generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return model


def resnet20(num_classes: int = 10, seed: int | None = None) -> ResNetCifar:
    """ResNet-20 (0.27 M parameters), initialised from `seed` when given."""
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return kaiming_init_(ResNetCifar(3, num_classes), generator)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
