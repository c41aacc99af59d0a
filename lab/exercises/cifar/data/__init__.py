"""CIFAR-10 for Exercise 2: find the data, validate it, decode it once into a
uint8 tensor cache, and augment batches on tensors.

Sources: the official python-pickle folder ``cifar-10-batches-py/`` (what
torchvision downloads), an image folder ``train/<class>/*.png|jpg``,
``test/<class>/...``, or either one as a .tar.gz / .tgz / .tar archive, read
directly from the archive.

    sources.py   finding or downloading a source, its fingerprint, its files
    decode.py    pickled batches or image folders -> uint8 tensors, checked
    cache.py     the tensor cache; load() and preflight()
    augment.py   batch augmentation, normalisation, stratified subsets
"""
from lab.exercises.cifar.data.augment import augment, normalize, shift_and_flip, subset
from lab.exercises.cifar.data.cache import CifarData, cache_path, default_cache_dir, load, preflight
from lab.exercises.cifar.data.sources import ARCHIVE_MD5, CLASSES, MEAN, STD, URL, find_source, fingerprint

__all__ = ["ARCHIVE_MD5", "CLASSES", "MEAN", "STD", "URL", "CifarData", "augment", "cache_path",
           "default_cache_dir", "find_source", "fingerprint", "load", "normalize", "preflight",
           "shift_and_flip", "subset"]
