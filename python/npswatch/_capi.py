"""ctypes declarations of libnpsw's stable C API (api/include/npsw/npsw_api.h) and how the
shared library is found (docs/python.md, "Which libnpsw is loaded"):

1. the file named by the environment variable NPSW_LIBRARY;
2. next to an installed package: the library that `cmake --install` put in the same prefix;
3. a build tree: $NPSW_BUILD_DIR, else build/ at the top of the source checkout this package
   lives in;
4. the system's dynamic loader (ld.so.conf, LD_LIBRARY_PATH) by its SONAME.
"""
import ctypes
import os

SONAME = "libnpsw.so.0"  # cmake/NpswInstall.cmake, NPSW_SOVERSION
API_VERSION = 1          # NPSW_API_VERSION this package was written for

_here = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("NPSW_LIBRARY")
    if env:
        yield env, "NPSW_LIBRARY"
        return
    try:
        from . import _install  # present only in an installed package
        yield os.path.normpath(os.path.join(_here, _install.LIB_RELPATH, _install.SONAME)), \
            "the installed prefix"
    except ImportError:
        pass
    build = os.environ.get("NPSW_BUILD_DIR") or os.path.join(_here, "..", "..", "build")
    yield os.path.normpath(os.path.join(build, SONAME)), "the build tree"
    yield SONAME, "the system's dynamic loader"


def load():
    tried = []
    for path, where in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{path} ({where}: no such file)")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({where}: {e})")
            continue
        _declare(lib)
        v = lib.npsw_api_version()
        if v < API_VERSION:
            raise ImportError(f"npswatch: {path} has C API version {v}, this package needs "
                              f"{API_VERSION}: install a newer libnpsw")
        return lib, path
    raise ImportError("npswatch: cannot load the shared library libnpsw; tried: " +
                      "; ".join(tried) + ". Set NPSW_LIBRARY to the path of libnpsw.so.N "
                      "(docs/python.md)")


c_char_p, c_void_p = ctypes.c_char_p, ctypes.c_void_p
i32, u32, i64, u64, dbl = ctypes.c_int, ctypes.c_uint32, ctypes.c_int64, ctypes.c_uint64, ctypes.c_double
P_dbl, P_u64, P_u32 = ctypes.POINTER(dbl), ctypes.POINTER(u64), ctypes.POINTER(u32)

_PROTOTYPES = {
    "npsw_api_version": (i32, []),
    "npsw_api_npswatch_version": (c_char_p, []),
    "npsw_api_errmsg": (c_char_p, []),
    "npsw_api_errcode": (i32, []),
    "npsw_api_free": (None, [c_void_p]),
    "npsw_api_lib_open": (c_void_p, [c_char_p]),
    "npsw_api_lib_close": (None, [c_void_p]),
    "npsw_api_lib_info": (c_char_p, [c_void_p, c_char_p]),
    "npsw_api_lib_size": (u64, [c_void_p]),
    "npsw_api_lib_meta": (c_char_p, [c_void_p, u64, c_char_p]),
    "npsw_api_lib_mass": (dbl, [c_void_p, u64]),
    "npsw_api_lib_peaks": (i64, [c_void_p, u64, P_dbl, P_dbl, u64]),
    "npsw_api_queries_new": (c_void_p, []),
    "npsw_api_queries_free": (None, [c_void_p]),
    "npsw_api_queries_add": (i64, [c_void_p, P_dbl, P_dbl, u64, c_char_p, dbl]),
    "npsw_api_queries_read": (i64, [c_void_p, c_char_p, c_char_p, i32]),
    "npsw_api_queries_count": (u64, [c_void_p]),
    "npsw_api_queries_skipped": (u64, [c_void_p]),
    "npsw_api_queries_meta": (c_char_p, [c_void_p, u64, c_char_p]),
    "npsw_api_queries_file": (c_char_p, [c_void_p, u64]),
    "npsw_api_opts_new": (c_void_p, []),
    "npsw_api_opts_free": (None, [c_void_p]),
    "npsw_api_opts_set": (i32, [c_void_p, c_char_p, c_char_p]),
    "npsw_api_search": (c_void_p, [c_void_p, c_void_p, c_void_p]),
    "npsw_api_hits_free": (None, [c_void_p]),
    "npsw_api_hits_nqueries": (u64, [c_void_p]),
    "npsw_api_hits_total": (u64, [c_void_p]),
    "npsw_api_hits_count": (u32, [c_void_p, u64]),
    "npsw_api_hits_query_peaks": (u32, [c_void_p, u64]),
    "npsw_api_hits_columns": (u64, [c_void_p, P_u64, P_u32, P_u64, P_dbl, P_dbl, P_dbl, P_dbl,
                                    P_dbl, P_dbl, P_u32]),
    "npsw_api_analyse_json": (c_void_p, [c_void_p, c_void_p, c_void_p]),
}


def _declare(lib):
    for name, (res, args) in _PROTOTYPES.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
