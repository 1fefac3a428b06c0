"""The foundation every floor stands on, with nothing of networks in it: the input checks
of the public boundary (``checks``), which array module the arrays belong to
(``backend``) and how many threads BLAS may use (``threads``)."""
