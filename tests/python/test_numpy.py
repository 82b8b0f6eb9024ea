#!/usr/bin/env python3
"""ctest python.numpy: the NumPy side of the Python package: search_arrays() against the
dictionaries of search() and against the CLI, peak arrays as (n, 2) ndarrays of any float type,
library peaks as arrays. Skipped (exit 77, with a message) when NumPy is not installed
(Debian: python3-numpy, installed by tools/install-deps.sh)."""
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SCRATCH = common.scratch_from_argv()
try:
    import numpy as np
except ImportError:
    print("python.numpy: SKIPPED: NumPy is not installed for this python3 "
          "(apt-get install python3-numpy)")
    sys.exit(77)
import npswatch  # noqa: E402


def mf_display(x):
    """NIST's displayed integer, written here from its definition: floor(1000 x), at most 999."""
    return 0 if not x > 0 else min(999, math.floor(1000 * x))


class NumPy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lib = npswatch.Library(common.build_library(SCRATCH))

    @classmethod
    def tearDownClass(cls):
        cls.lib.close()

    def test_has_numpy(self):
        self.assertTrue(npswatch.has_numpy())

    def test_arrays_match_dicts_and_cli(self):
        k = 8
        arr = self.lib.search_arrays(common.QUERY_FILES, k=k, score="entropy", threads=2)
        dicts = self.lib.search(common.QUERY_FILES, k=k, score="entropy", threads=1)
        _, cli = common.cli_json("search", "-l", self.lib.path, "-k", str(k), "--score",
                                 "entropy", *common.QUERY_FILES)
        rows = [(q["query_index"], h) for q in dicts for h in q["hits"]]
        self.assertEqual(len(rows), 11 * k)
        self.assertEqual(sorted(arr), sorted(["query", "rank", "index", "score", "mf", "rmf",
                                              "wmf", "cosine", "entropy", "n_matched"]))
        for name, a in arr.items():
            self.assertIsInstance(a, np.ndarray)
            self.assertEqual(a.shape, (len(rows),), name)
        self.assertEqual(arr["index"].dtype, np.int64)
        self.assertEqual(arr["score"].dtype, np.float64)
        for j, (qi, h) in enumerate(rows):
            self.assertEqual(arr["query"][j], qi)
            self.assertEqual(arr["rank"][j], h["rank"])
            self.assertEqual(arr["index"][j], h["hit_index"])
            self.assertEqual(arr["score"][j], h["score"])
            self.assertEqual(arr["n_matched"][j], h["n_matched"])
            for s in ("mf", "rmf", "wmf"):
                self.assertEqual(mf_display(arr[s][j]), h[s])
            self.assertEqual(arr["cosine"][j], h["cosine"])
        cli_rows = [(c["query_index"], h) for c in cli for h in c["hits"]]
        self.assertEqual([r[1]["hit_index"] for r in cli_rows], arr["index"].tolist())
        for j, (_, h) in enumerate(cli_rows):
            self.assertTrue(math.isclose(arr["score"][j], h["score"], rel_tol=1e-13))
        # ranks ascend within a query, scores never increase
        for qi in range(1, 12):
            sel = arr["query"] == qi
            self.assertEqual(arr["rank"][sel].tolist(), list(range(1, k + 1)))
            self.assertTrue(np.all(np.diff(arr["score"][sel]) <= 0))

    def test_ndarray_peaks(self):
        name, peaks = common.parse_msp_peaks(common.QUERY_FILES[1])[0]
        want = self.lib.search(peaks, k=5)[0]["hits"]
        for dtype in (np.float64, np.float32, np.int64):
            with self.subTest(dtype=dtype):
                a = np.array(peaks, dtype=dtype)
                self.assertEqual(self.lib.search(a, k=5)[0]["hits"], want)
                self.assertEqual(self.lib.search(npswatch.Spectrum(mz=a[:, 0], intensity=a[:, 1]),
                                                 k=5)[0]["hits"], want)
        self.assertEqual(self.lib.search([np.array(peaks), np.array(peaks)], k=5)[1]["hits"], want)
        with self.assertRaises(ValueError):
            npswatch.Spectrum(np.zeros((4, 3)))

    def test_library_peaks_as_arrays(self):
        for i in (1, 487, 975):
            a = self.lib.peaks(i, numpy=True)
            lst = self.lib.peaks(i)
            self.assertEqual(a.shape, (len(lst), 2))
            self.assertEqual(a.tolist(), [list(p) for p in lst])
            self.assertTrue(np.all(np.diff(a[:, 0]) > 0))  # cleaned: ascending m/z
            self.assertEqual(a[:, 1].max(), 999)           # cleaned: base peak 999


if __name__ == "__main__":
    unittest.main(verbosity=2)
