"""Project-wide pytest configuration.

nbval re-executes every chapter and compares the new outputs with the stored ones, but by default it
skips images.  We compare images too (byte for byte), so that `make test` proves that executing a
chapter again reproduces *every* stored output, figures included.

One BLAS thread, as the Makefile sets for `make test`, also when pytest is run directly: the problems
here are small, and a threaded BLAS on a 2-core machine makes them many times slower (the fuzz's
5-second cap on a call then fails for a fit that takes 1.3 s).  It must be set before numpy loads.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import nbval.plugin  # noqa: E402

_original_init = nbval.plugin.IPyNbFile.__init__


def _init_comparing_images(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self.skip_compare = tuple(key for key in self.skip_compare if key != "image/png")


nbval.plugin.IPyNbFile.__init__ = _init_comparing_images
