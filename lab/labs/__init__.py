"""The labs, each a package with its manifest; a declaration names its lab (``lab = "NAME"``)."""

DEFAULT = "lab13"  # the lab of a declaration that names none
