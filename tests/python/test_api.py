#!/usr/bin/env python3
"""ctest python.api: the Python package npswatch (python/npswatch, ctypes over the shared
libnpsw) against the CLI on the same real spectra: library facts, identity search of files and of
peak arrays (several k, scores and thread counts), the analogue analysis, errors as exceptions
with the library's messages, and handles that are freed (docs/python.md)."""
import math
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SCRATCH = common.scratch_from_argv()
import npswatch  # noqa: E402


def same(a, b, path="result"):
    """Deep equality; floats within a relative 1e-13, since the CLI's JSON (cJSON) writes 15
    significant digits while Python keeps the double as computed."""
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and
                math.isclose(a, b, rel_tol=1e-13, abs_tol=1e-15)):
            raise AssertionError(f"{path}: {a!r} != {b!r}")
    elif isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            raise AssertionError(f"{path}: keys {sorted(a)} != {sorted(b)}")
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise AssertionError(f"{path}: {len(a)} items != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        raise AssertionError(f"{path}: {a!r} != {b!r}")


def strip_record(records):
    return [{k: v for k, v in r.items() if k != "record"} for r in records]


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = common.build_library(SCRATCH)
        cls.lib = npswatch.Library(cls.path)

    @classmethod
    def tearDownClass(cls):
        cls.lib.close()

    def test_loads_the_library_it_was_given(self):
        self.assertEqual(os.path.realpath(npswatch.library_path()),
                         os.path.realpath(os.environ["NPSW_LIBRARY"]))
        # the SONAME the package looks for in a build tree and via ld.so is the one CMake built
        self.assertEqual(npswatch._capi.SONAME, os.environ["NPSW_SONAME"])
        self.assertEqual(npswatch.api_version(), 1)
        v = subprocess.run([common.BIN, "--version"], capture_output=True, text=True).stdout
        self.assertEqual(v.split()[1], npswatch.npswatch_version())

    def test_library_facts_match_the_run_record(self):
        run, _ = common.cli_json("search", "-l", self.path, common.QUERY_FILES[0])
        self.assertEqual(self.lib.name, run["library_name"])
        self.assertEqual(self.lib.version, run["library_version"])
        self.assertEqual(self.lib.sha256, run["library_sha256"])
        self.assertEqual(len(self.lib), run["library_spectra"])
        self.assertEqual(self.lib.count, 975)  # spectra_db/data/README.md: 975 DEA records
        self.assertEqual(self.lib.cleaning, run["cleaning"])
        info = self.lib.info
        self.assertEqual(info["mass_mode"], "nominal")
        self.assertRegex(info["sha256"], r"^[0-9a-f]{64}$")

    def test_search_files_matches_cli(self):
        for k, score, threads in ((5, "wmf", 0), (10, "entropy", 1), (3, "mf", 2),
                                  (7, "cosine", 2), (1, "rmf", 1)):
            with self.subTest(k=k, score=score, threads=threads):
                _, cli = common.cli_json("search", "-l", self.path, "-k", str(k), "--score", score,
                                         "--threads", str(threads or 2), *common.QUERY_FILES)
                py = self.lib.search(common.QUERY_FILES, k=k, score=score, threads=threads)
                self.assertEqual(len(py), 11)
                same(py, strip_record(cli))
                self.assertTrue(all(len(q["hits"]) == k for q in py))

    def test_search_options_match_cli(self):
        _, cli = common.cli_json("search", "-l", self.path, "--weights", "1994",
                                 "--min-matched", "20", common.QUERY_FILES[1])
        py = self.lib.search(common.QUERY_FILES[1], weights="1994", min_matched=20)
        same(py, strip_record(cli))
        self.assertTrue(all(h["n_matched"] >= 20 for q in py for h in q["hits"]))

    def test_peak_arrays_give_the_file_results(self):
        path = common.QUERY_FILES[0]
        parsed = common.parse_msp_peaks(path)
        self.assertEqual(len(parsed), 6)
        from_file = self.lib.search(path, k=5)
        spectra = [npswatch.Spectrum(peaks, name=name) for name, peaks in parsed]
        from_arrays = self.lib.search(spectra, k=5)
        for a, f in zip(from_arrays, from_file):
            self.assertEqual(a["query_name"], f["query_name"])
            self.assertEqual(a["query_peaks"], f["query_peaks"])
            self.assertEqual(a["hits"], f["hits"])
        # the other input forms of one spectrum
        name, peaks = parsed[2]
        want = from_file[2]["hits"]
        self.assertEqual(self.lib.search(peaks)[0]["hits"], want)
        mz, inten = [p[0] for p in peaks], [p[1] for p in peaks]
        self.assertEqual(self.lib.search(npswatch.Spectrum(mz=mz, intensity=inten))[0]["hits"],
                         want)
        self.assertEqual(self.lib.search([peaks, peaks])[1]["hits"], want)
        with npswatch.Queries() as q:
            q.add(peaks)
            q.read(path)
            self.assertEqual(len(q), 7)
            self.assertEqual(q.meta(3, "name"), parsed[2][0])
            self.assertEqual(q.file(0), "")
            self.assertEqual(q.file(1), path)
            res = self.lib.search(q)
            self.assertEqual(res[0]["hits"], want)
            self.assertEqual(res[3]["hits"], want)

    def test_library_spectra_find_themselves(self):
        for i in (1, 100, 500, 975):
            with self.subTest(index=i):
                peaks = self.lib.peaks(i)
                self.assertGreater(len(peaks), 0)
                hits = self.lib.search(peaks, k=10, score="cosine")[0]["hits"]
                top = hits[0]["score"]
                self.assertAlmostEqual(top, 1.0, places=12)
                self.assertIn(i, [h["hit_index"] for h in hits if h["score"] == top])
                e = self.lib.entry(i)
                self.assertEqual(e["peaks"], peaks)
                self.assertEqual(e["name"], self.lib.meta(i, "name"))
                self.assertNotEqual(e["name"], "")

    def test_analogues_match_cli(self):
        for k, threads, extra in ((5, 0, {}), (3, 1, {"max_delta": 100, "n_mion": 3})):
            with self.subTest(k=k, extra=extra):
                args = ["analogues", "-l", self.path, "-k", str(k), "--threads", str(threads or 2)]
                if extra:
                    args += ["--max-delta", str(extra["max_delta"]), "--n-mion", str(extra["n_mion"])]
                _, cli = common.cli_json(*args, *common.QUERY_FILES)
                py = self.lib.analogues(common.QUERY_FILES, k=k, threads=threads, **extra)
                self.assertEqual(len(py), 11)
                same(py, cli)
        verdicts = {a["verdict"] for a in py}
        self.assertTrue(verdicts <= {"in_library", "analogue", "unknown"})

    def test_errors_are_exceptions_with_the_library_message(self):
        missing = os.path.join(SCRATCH, "no-such-library.h5")
        with self.assertRaises(npswatch.Error) as cm:
            npswatch.Library(missing)
        self.assertIn("no-such-library.h5", str(cm.exception))
        with self.assertRaises(npswatch.Error):
            npswatch.Library(common.QUERY_FILES[0])  # an MSP file is not a library
        for kw, word in (({"k": 0}, "k"), ({"k": 1001}, "k"), ({"score": "best"}, "best"),
                         ({"threads": -1}, "threads"), ({"tol_da": 5}, "tol_da"),
                         ({"colour": "red"}, "unknown option")):
            with self.subTest(kw=kw), self.assertRaises(npswatch.Error) as cm:
                self.lib.search(common.QUERY_FILES[0], **kw)
            self.assertIn(word, str(cm.exception))
            self.assertEqual(cm.exception.name, "NPSW_EINVAL")
        with self.assertRaises(npswatch.Error) as cm:
            self.lib.analogues(common.QUERY_FILES[0], k=33)
        self.assertIn("32", str(cm.exception))
        bad = os.path.join(SCRATCH, "bad.msp")
        with open(bad, "w") as f:
            f.write("Name: x\nNum Peaks: 2\n10 abc\n20 30\n\nName: y\nNum Peaks: 1\n41 100\n")
        with self.assertRaises(npswatch.Error) as cm:
            self.lib.search(bad, strict=True)
        cli = subprocess.run([common.BIN, "search", "-l", self.path, "--strict", bad],
                             capture_output=True, text=True)
        self.assertEqual(cli.returncode, 1)
        self.assertIn(str(cm.exception), cli.stderr)  # same message, file and line
        self.assertIn("bad.msp:3", str(cm.exception))
        self.assertEqual(cm.exception.name, "NPSW_EPARSE")
        with npswatch.Queries(bad) as q:  # lenient: the bad record is skipped and counted
            self.assertEqual((len(q), q.skipped), (1, 1))
        with self.assertRaises(npswatch.Error):
            self.lib.search(os.path.join(SCRATCH, "missing.msp"))
        with self.assertRaises(npswatch.Error) as cm:
            self.lib.search([(58.0, float("nan")), (91.0, 10.0)])
        self.assertIn("finite", str(cm.exception))
        with self.assertRaises(ValueError):
            npswatch.Spectrum(mz=[1.0, 2.0], intensity=[1.0])
        with self.assertRaises(ValueError):
            self.lib.search([])
        with self.assertRaises(IndexError):
            self.lib.peaks(0)  # 1-based
        with self.assertRaises(IndexError):
            self.lib.entry(len(self.lib) + 1)

    def test_closed_handles_raise_instead_of_crashing(self):
        lib = npswatch.Library(self.path)
        with lib:
            self.assertEqual(len(lib), 975)
        self.assertIn("closed", repr(lib))
        with self.assertRaises(ValueError):
            lib.search(common.QUERY_FILES[0])
        lib.close()  # twice is fine
        q = npswatch.Queries(common.QUERY_FILES[0])
        q.close()
        with self.assertRaises(ValueError):
            len(q)

    def test_repeated_use_frees_memory(self):
        if "asan" in os.environ.get("LD_PRELOAD", ""):
            self.skipTest("under AddressSanitizer freed memory is held in quarantine, so the "
                          "resident size says nothing; unit.test_api checks the C API for leaks")

        def rss_mb():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

        def cycle():
            with npswatch.Library(self.path) as lib, npswatch.Queries(common.QUERY_FILES) as q:
                self.assertEqual(len(lib.search(q, k=20)), 11)
        for _ in range(10):
            cycle()
        before = rss_mb()
        for _ in range(60):  # bounded: about 3 s; a leaked library would add over 1 MiB a cycle
            cycle()
        grown = rss_mb() - before
        print(f"python.api: resident size grew {grown:.1f} MiB over 60 open/search/close cycles",
              file=sys.stderr)
        self.assertLess(grown, 16.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
