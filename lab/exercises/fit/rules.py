"""Thresholds shared by the fit runs' summaries and the report's facts, written once."""

# A learning rate "oscillates" when, for the median seed, the training loss
# climbs back to at least this multiple of the best loss it had reached. (Adam
# with a fitting step size wobbles by a few percent; lr 0.1 on the course
# function climbs ~2.5x, lr 1 by orders of magnitude.)
OSCILLATION_REBOUND = 1.5
