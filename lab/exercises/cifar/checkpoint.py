"""Exercise 2's checkpoints: one per epoch, so an interrupted run resumes
where it stopped."""

CHECKPOINT_KEYS = {"epoch", "rows", "numerics", "model", "optimizer", "scaler"}


def checkpoint_state(epoch, rows, numerics, model, optimizer, scaler) -> dict:
    """Everything `resume` needs to continue after `epoch`."""
    return {
        "epoch": epoch,
        "rows": rows,
        "numerics": numerics.label,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
    }


def resume(ctx, model, optimizer, scaler, numerics) -> list[dict]:
    """Restore the last checkpoint, if any; return the epoch rows done so far."""
    state = ctx.load_checkpoint()
    if state is None:
        return []
    if not CHECKPOINT_KEYS <= set(state):
        ctx.progress.log("the checkpoint is not one this code wrote; starting from epoch 1")
        return []
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scaler.load_state_dict(state["scaler"])
    if state["numerics"] != numerics.label:
        ctx.progress.log(
            f"resuming a run checkpointed with {state['numerics']} "
            f"numerics using {numerics.label}: results will differ slightly"
        )
    ctx.progress.log(f"resuming after epoch {state['epoch']}")
    return list(state["rows"])
