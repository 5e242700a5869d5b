"""What every module of ``ernnc explore`` shares."""

PROG = "ernnc explore"
