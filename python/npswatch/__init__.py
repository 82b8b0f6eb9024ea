"""npswatch for Python: library search and unknown-analogue analysis of mass spectra.

A pure-Python package (ctypes) over the shared library libnpsw (docs/python.md):

    import npswatch
    with npswatch.Library("lib.h5") as lib:
        print(lib.name, lib.version, lib.sha256, len(lib))
        for q in lib.search("unknowns.msp", k=5, score="wmf"):
            for h in q["hits"]:
                print(q["query_name"], h["rank"], h["hit_name"], h["mf"])
        hits = lib.search([(58.0, 999), (91.0, 120), (134.0, 40)])
        table = lib.search_arrays("unknowns.msp")          # NumPy columns
        analysis = lib.analogues("unknowns.msp")

Results are plain lists and dictionaries with the keys of `npswatch search --format json` and
`npswatch analogues --format json`; library indices are 1-based, as in the CLI. They are library
search results, not identifications.
"""
import ctypes
import json
import numbers
import os

from . import _capi

__all__ = ["Error", "Library", "Queries", "Spectrum", "library_path", "api_version",
           "npswatch_version", "has_numpy"]

try:
    import numpy as _np
except ImportError:  # the package works without NumPy; only the *_arrays helpers need it
    _np = None

_C, _LIBPATH = _capi.load()

_ERRNAMES = {0: "NPSW_OK", -1: "NPSW_EOF", -2: "NPSW_ENOMEM", -3: "NPSW_EIO", -4: "NPSW_EPARSE",
             -5: "NPSW_EINVAL", -6: "NPSW_EFORMAT", -7: "NPSW_EVERSION", -8: "NPSW_ECHECKSUM",
             -9: "NPSW_EHDF5", -10: "NPSW_ELIMIT", -11: "NPSW_EEMPTY", -12: "NPSW_EUNSUPPORTED"}

_META_FIELDS = ("name", "synonyms", "formula", "cas", "inchikey", "smiles", "precursor_type",
                "instrument", "instrument_type", "ionization", "collision_energy", "source",
                "accession", "license", "comments", "class")


class Error(Exception):
    """An error reported by libnpsw: str(e) is its message (file and line where it applies),
    e.code the npsw error code (npsw/err.h), e.name its name ("NPSW_EPARSE")."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code
        self.name = _ERRNAMES.get(code, "NPSW_E%d" % -code)


def _raise():
    msg = (_C.npsw_api_errmsg() or b"").decode("utf-8", "replace")
    raise Error(msg or "libnpsw reported an error", _C.npsw_api_errcode())


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else None


def library_path():
    """The file of the libnpsw that was loaded."""
    return _LIBPATH


def api_version():
    """The C API version of the loaded libnpsw (NPSW_API_VERSION)."""
    return _C.npsw_api_version()


def npswatch_version():
    """The npswatch version of the loaded libnpsw."""
    return _s(_C.npsw_api_npswatch_version())


def has_numpy():
    return _np is not None


def _need_numpy(what):
    if _np is None:
        raise ImportError(f"npswatch: {what} needs NumPy (Debian: apt-get install python3-numpy)")


class Spectrum:
    """A query spectrum from peaks: a sequence of (mz, intensity) pairs or an (n, 2) NumPy array,
    or separate `mz` and `intensity` sequences. The search cleans it as the library was cleaned
    (sorted, merged, non-positive peaks dropped, base peak 999)."""

    def __init__(self, peaks=None, name=None, precursor_mz=0.0, mz=None, intensity=None):
        if peaks is not None:
            if mz is not None or intensity is not None:
                raise ValueError("Spectrum: give either peaks or mz and intensity")
            if _np is not None and isinstance(peaks, _np.ndarray):
                if peaks.ndim != 2 or peaks.shape[1] != 2:
                    raise ValueError(f"Spectrum: a peak array must have shape (n, 2), not "
                                     f"{peaks.shape}")
                mz, intensity = peaks[:, 0], peaks[:, 1]
            else:
                pairs = list(peaks)
                for i, p in enumerate(pairs):
                    if len(p) != 2:
                        raise ValueError(f"Spectrum: peak {i + 1} is not an (mz, intensity) pair")
                mz = [p[0] for p in pairs]
                intensity = [p[1] for p in pairs]
        if mz is None or intensity is None:
            raise ValueError("Spectrum: no peaks given")
        if len(mz) != len(intensity):
            raise ValueError(f"Spectrum: {len(mz)} m/z values but {len(intensity)} intensities")
        try:
            self.mz = [float(x) for x in mz]
            self.intensity = [float(x) for x in intensity]
        except (TypeError, ValueError) as e:
            raise ValueError(f"Spectrum: peaks must be numbers ({e})") from None
        self.name = name
        self.precursor_mz = float(precursor_mz or 0.0)

    def __len__(self):
        return len(self.mz)

    def __repr__(self):
        return f"Spectrum({self.name!r}, {len(self)} peaks)"


def _is_peak_pair(x):
    return (isinstance(x, (tuple, list)) and len(x) == 2 and
            all(isinstance(v, numbers.Real) for v in x)) or \
        (_np is not None and isinstance(x, _np.ndarray) and x.shape == (2,))


class Queries:
    """A set of query spectra in libnpsw (files read by its importers, and peak arrays).
    Close it (or use `with`) to free it at once; it is also freed when garbage-collected."""

    def __init__(self, items=None, format=None, strict=False):
        self._h = _C.npsw_api_queries_new()
        if not self._h:
            _raise()
        if items is not None:
            self.add(items, format=format, strict=strict)

    def _handle(self):
        if not self._h:
            raise ValueError("npswatch: this query set is closed")
        return self._h

    def add(self, items, format=None, strict=False):
        """Add a file path, a Spectrum, a peak list or (n, 2) array, or a list of those."""
        if isinstance(items, (str, os.PathLike)):
            self.read(items, format=format, strict=strict)
        elif isinstance(items, Spectrum):
            self.add_spectrum(items)
        elif _np is not None and isinstance(items, _np.ndarray) and items.ndim == 2:
            self.add_spectrum(Spectrum(items))
        elif isinstance(items, Queries):
            raise TypeError("npswatch: a Queries set cannot be added to another")
        else:
            seq = list(items)
            if not seq:
                raise ValueError("npswatch: no query spectra given (an empty list)")
            if _is_peak_pair(seq[0]):
                self.add_spectrum(Spectrum(seq))
            else:
                for x in seq:
                    if isinstance(x, (list, tuple)) and x and isinstance(x[0], (list, tuple)):
                        self.add_spectrum(Spectrum(x))
                    elif isinstance(x, (list, tuple)):
                        raise ValueError("npswatch: cannot tell this list apart: give peaks as "
                                         "(mz, intensity) pairs or spectra as Spectrum objects")
                    else:
                        self.add(x, format=format, strict=strict)
        return self

    def add_spectrum(self, s):
        n = len(s.mz)
        mz = (ctypes.c_double * max(n, 1))(*s.mz)
        inten = (ctypes.c_double * max(n, 1))(*s.intensity)
        name = s.name.encode("utf-8") if s.name is not None else None
        rc = _C.npsw_api_queries_add(self._handle(), mz, inten, n, name, s.precursor_mz)
        if rc < 0:
            _raise()
        return rc

    def read(self, path, format=None, strict=False):
        """Append every spectrum of a file (MSP, MGF, JCAMP-DX, CSV/TSV, mzML). Bad records are
        skipped and counted (`skipped`) unless strict. Returns the number of spectra read."""
        fmt = format.encode() if format else None
        rc = _C.npsw_api_queries_read(self._handle(), os.fsencode(path), fmt, 1 if strict else 0)
        if rc < 0:
            _raise()
        return rc

    def __len__(self):
        return _C.npsw_api_queries_count(self._handle())

    @property
    def skipped(self):
        """Bad records skipped while reading files."""
        return _C.npsw_api_queries_skipped(self._handle())

    def meta(self, i, field="name"):
        """Metadata of query i (0-based)."""
        v = _C.npsw_api_queries_meta(self._handle(), i, field.encode())
        if v is None:
            _raise()
        return _s(v)

    def file(self, i):
        v = _C.npsw_api_queries_file(self._handle(), i)
        if v is None:
            raise IndexError(f"npswatch: query {i} out of range")
        return os.fsdecode(v)

    def close(self):
        if getattr(self, "_h", None) and _C is not None:  # _C: None late in interpreter exit
            _C.npsw_api_queries_free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class _Opts:
    def __init__(self, options):
        self._h = _C.npsw_api_opts_new()
        if not self._h:
            _raise()
        try:
            for key, value in options.items():
                if value is None:
                    continue
                if _C.npsw_api_opts_set(self._h, key.encode(), str(value).encode()) < 0:
                    _raise()
        except BaseException:
            self.close()
            raise

    def close(self):
        if self._h:
            _C.npsw_api_opts_free(self._h)
            self._h = None

    def __enter__(self):
        return self._h

    def __exit__(self, *exc):
        self.close()


def _mf_display(x):
    """NIST's displayed integer of a 0..1 match factor (npsw_mf_display)."""
    if not x > 0:
        return 0
    return min(999, int(1000.0 * x // 1))


class Library:
    """A reference library file made by `npswatch build` (HDF5), open read-only.

    Attributes: name, version, sha256 (content SHA-256), created_utc, format, cleaning,
    mass_mode, and len(lib) spectra. Close it (or use `with`) to free it at once."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._h = _C.npsw_api_lib_open(os.fsencode(self.path))
        if not self._h:
            _raise()

    def _handle(self):
        if not self._h:
            raise ValueError("npswatch: this library is closed")
        return self._h

    def _info(self, key):
        v = _C.npsw_api_lib_info(self._handle(), key.encode())
        if v is None:
            _raise()
        return _s(v)

    name = property(lambda self: self._info("name"))
    version = property(lambda self: self._info("version"))
    sha256 = property(lambda self: self._info("sha256"))
    created_utc = property(lambda self: self._info("created_utc"))
    format = property(lambda self: self._info("format"))
    cleaning = property(lambda self: self._info("cleaning"))
    mass_mode = property(lambda self: self._info("mass_mode"))

    def __len__(self):
        return _C.npsw_api_lib_size(self._handle())

    @property
    def count(self):
        return len(self)

    @property
    def info(self):
        """The library's facts as a dictionary."""
        d = {k: self._info(k) for k in ("name", "version", "sha256", "created_utc",
                                        "npswatch_version", "format", "cleaning", "mass_mode")}
        d["count"] = len(self)
        d["path"] = self.path
        return d

    def _index0(self, index):
        n = len(self)
        if not isinstance(index, numbers.Integral) or not 1 <= index <= n:
            raise IndexError(f"npswatch: library index {index} out of range 1..{n} (1-based)")
        return int(index) - 1

    def meta(self, index, field):
        """Metadata field of spectrum `index` (1-based, as hit_index)."""
        v = _C.npsw_api_lib_meta(self._handle(), self._index0(index), field.encode())
        if v is None:
            _raise()
        return _s(v)

    def peaks(self, index, numpy=False):
        """Peaks of spectrum `index` (1-based) as stored (cleaned): a list of (mz, intensity)
        pairs, or with numpy=True an (n, 2) float64 array."""
        i = self._index0(index)
        n = _C.npsw_api_lib_peaks(self._handle(), i, None, None, 0)
        if n < 0:
            _raise()
        mz = (ctypes.c_double * max(n, 1))()
        inten = (ctypes.c_double * max(n, 1))()
        _C.npsw_api_lib_peaks(self._handle(), i, mz, inten, n)
        if numpy:
            _need_numpy("peaks(numpy=True)")
            a = _np.empty((n, 2), dtype=_np.float64)
            a[:, 0] = _np.ctypeslib.as_array(mz)[:n]
            a[:, 1] = _np.ctypeslib.as_array(inten)[:n]
            return a
        return list(zip(mz[:n], inten[:n]))

    def entry(self, index):
        """Spectrum `index` (1-based): its metadata, mass and peaks as a dictionary."""
        d = {"index": index}
        for f in _META_FIELDS:
            d[f] = self.meta(index, f)
        d["mass"] = _C.npsw_api_lib_mass(self._handle(), self._index0(index))
        d["peaks"] = self.peaks(index)
        return d

    def _queries(self, queries, format, strict):
        if isinstance(queries, Queries):
            return queries, False
        return Queries(queries, format=format, strict=strict), True

    def _run_search(self, queries, k, score, threads, format, strict, options):
        opts = dict(options, k=k, score=score, threads=threads)
        q, own = self._queries(queries, format, strict)
        try:
            with _Opts(opts) as o:
                h = _C.npsw_api_search(self._handle(), q._handle(), o)
            if not h:
                _raise()
            return q, own, h
        except BaseException:
            if own:
                q.close()
            raise

    @staticmethod
    def _columns(h):
        total = _C.npsw_api_hits_total(h)
        n = max(total, 1)
        cols = {"query": (ctypes.c_uint64 * n)(), "rank": (ctypes.c_uint32 * n)(),
                "index": (ctypes.c_uint64 * n)()}
        for c in ("score", "mf", "rmf", "wmf", "cosine", "entropy"):
            cols[c] = (ctypes.c_double * n)()
        cols["n_matched"] = (ctypes.c_uint32 * n)()
        _C.npsw_api_hits_columns(h, cols["query"], cols["rank"], cols["index"], cols["score"],
                                 cols["mf"], cols["rmf"], cols["wmf"], cols["cosine"],
                                 cols["entropy"], cols["n_matched"])
        return total, cols

    def search(self, queries, k=5, score="wmf", threads=0, format=None, strict=False,
               **options):
        """Identity search, exactly as `npswatch search`: for every query a dictionary with
        query_index (1-based), query_name, query_inchikey, query_file, query_peaks and hits, a
        list of dictionaries with the keys of `npswatch search --format json` (rank, hit_index
        (1-based), hit_name, hit_inchikey, hit_formula, hit_accession, hit_class, score, mf, rmf,
        wmf (NIST 0-999 integers), cosine, entropy, n_matched, hit_peaks).

        queries: a file path, a Spectrum, a peak list or (n, 2) array, a Queries set, or a list
        of those. Further options as in npsw_api_opts_set(): weights, int_power, mz_power,
        tol_da, tol_ppm, precursor_tol, min_matched, mz_range, min_mz."""
        q, own, h = self._run_search(queries, k, score, threads, format, strict, options)
        try:
            total, c = self._columns(h)
            out = []
            for i in range(_C.npsw_api_hits_nqueries(h)):
                out.append({
                    "query_index": i + 1,
                    "query_name": q.meta(i, "name"),
                    "query_inchikey": q.meta(i, "inchikey"),
                    "query_file": q.file(i),
                    "query_peaks": _C.npsw_api_hits_query_peaks(h, i),
                    "hits": []})
            peak_counts = {}
            for j in range(total):
                idx = c["index"][j]
                if idx not in peak_counts:
                    peak_counts[idx] = _C.npsw_api_lib_peaks(self._h, idx, None, None, 0)
                hit = {"rank": c["rank"][j], "hit_index": idx + 1}
                for f in ("name", "inchikey", "formula", "accession", "class"):
                    hit["hit_" + f] = self.meta(idx + 1, f)
                hit.update(score=c["score"][j], mf=_mf_display(c["mf"][j]),
                           rmf=_mf_display(c["rmf"][j]), wmf=_mf_display(c["wmf"][j]),
                           cosine=c["cosine"][j], entropy=c["entropy"][j],
                           n_matched=c["n_matched"][j], hit_peaks=peak_counts[idx])
                out[c["query"][j]]["hits"].append(hit)
            return out
        finally:
            _C.npsw_api_hits_free(h)
            if own:
                q.close()

    def search_arrays(self, queries, k=5, score="wmf", threads=0, format=None, strict=False,
                      **options):
        """The same search as NumPy columns, one row per hit, query by query and rank by rank:
        query and index (1-based, int64), rank and n_matched (int32), and score, mf, rmf, wmf,
        cosine, entropy as float64 in 0..1 (mf, rmf, wmf not scaled to NIST's 0-999)."""
        _need_numpy("search_arrays")
        q, own, h = self._run_search(queries, k, score, threads, format, strict, options)
        try:
            total, c = self._columns(h)
            out = {}
            for name, arr in c.items():
                a = _np.ctypeslib.as_array(arr)[:total].copy()
                if name in ("query", "index"):
                    a = a.astype(_np.int64) + 1
                elif name in ("rank", "n_matched"):
                    a = a.astype(_np.int32)
                out[name] = a
            return out
        finally:
            _C.npsw_api_hits_free(h)
            if own:
                q.close()

    def analogues(self, queries, k=5, threads=0, max_delta=None, n_mion=None, tol_da=None,
                  tol_ppm=None, format=None, strict=False):
        """Unknown-analogue analysis, exactly as `npswatch analogues`: for every query a
        dictionary with the keys of `npswatch analogues --format json` (verdict, confidence,
        p_in_library, p_analogue, identity_hits, analogue_candidates, analogue (when one was
        found: its substituent hypotheses), predicted_class, diagnostic_ions, ...)."""
        opts = {"k": k, "threads": threads, "max_delta": max_delta, "n_mion": n_mion,
                "tol_da": tol_da, "tol_ppm": tol_ppm}
        q, own = self._queries(queries, format, strict)
        try:
            with _Opts(opts) as o:
                p = _C.npsw_api_analyse_json(self._handle(), q._handle(), o)
            if not p:
                _raise()
            try:
                text = ctypes.string_at(p)
            finally:
                _C.npsw_api_free(p)
            return json.loads(text.decode("utf-8"))
        finally:
            if own:
                q.close()

    def close(self):
        if getattr(self, "_h", None) and _C is not None:
            _C.npsw_api_lib_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        if not self._h:
            return f"<npswatch.Library {self.path!r} (closed)>"
        return f"<npswatch.Library {self.name!r} {self.version!r}, {len(self)} spectra>"
