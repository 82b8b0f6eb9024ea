/* load_time.c - how long a library takes to be ready for searching, and how big its peaks are.
 *
 * usage: npsw_load_time -l LIB.h5 [--score S] [--threads N] [--label L] [--header] QUERIES
 *
 * Times, in one process:
 *   open_s           npsw_lib_open() (read the file, build or read the index, whatever the
 *                    engine does before it returns)
 *   first_search_s   npsw_search() of the first query of QUERIES alone (read and cleaned before
 *                    the clock starts): whatever preparation the engine does on its first call
 *                    (weight tables, lazily built structures) plus one query
 *   second_search_s  the same query again: when it is much smaller than first_search_s, the
 *                    engine keeps its preparation between calls; when about equal, it prepares
 *                    on every call
 *   ready_s          open_s + first_search_s: from nothing to the first answer, in-library
 * and reports the peak resident set size (getrusage ru_maxrss) after the open and after the two
 * searches. Then it reads the library file itself with HDF5 to report how the peaks are stored:
 * the element size in bytes of /spectra/mz and /spectra/intensity (docs/format.md), their bytes
 * on disk, and raw_peak_bytes = peaks x (m/z bytes + intensity bytes), the "raw peak data" that
 * search memory is compared with. A column that cannot be read (a format without those datasets)
 * is printed as "-".
 * Output (TSV): label lib_spectra lib_peaks open_s first_search_s second_search_s ready_s
 *               rss_open_kb rss_ready_kb mz_bytes intensity_bytes raw_peak_bytes
 *               peak_storage_bytes file_bytes
 * The page cache is whatever it is (warm right after `npswatch build`): this is not a cold-disk
 * figure.
 */
#include <getopt.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "npsw/search.h"

static long max_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss; /* kilobytes on Linux */
}

/* Element size and storage bytes of a dataset; 0 when it is not there. */
static void dataset_size(hid_t f, const char *path, size_t *elem, unsigned long long *storage)
{
    *elem = 0;
    *storage = 0;
    if (H5Lexists(f, "spectra", H5P_DEFAULT) <= 0 || H5Lexists(f, path, H5P_DEFAULT) <= 0) return;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) return;
    hid_t t = H5Dget_type(d);
    if (t >= 0) {
        *elem = H5Tget_size(t);
        H5Tclose(t);
    }
    *storage = (unsigned long long)H5Dget_storage_size(d);
    H5Dclose(d);
}

int main(int argc, char **argv)
{
    enum { O_SCORE = 1000, O_THREADS, O_LABEL, O_HEADER };
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'}, {"score", required_argument, NULL, O_SCORE},
        {"threads", required_argument, NULL, O_THREADS}, {"label", required_argument, NULL, O_LABEL},
        {"header", no_argument, NULL, O_HEADER}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *libpath = NULL, *label = NULL;
    npsw_search_opts o = npsw_search_opts_default();
    o.threads = 2;
    int header = 0, c;
    while ((c = getopt_long(argc, argv, "l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': libpath = optarg; break;
        case O_SCORE: {
            int s = npsw_score_from_name(optarg);
            if (s < 0) return fprintf(stderr, "load_time: unknown score '%s'\n", optarg), 1;
            o.score = (npsw_score_kind)s;
            break;
        }
        case O_THREADS: o.threads = atoi(optarg); break;
        case O_LABEL: label = optarg; break;
        case O_HEADER: header = 1; break;
        case 'h':
        default:
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: npsw_load_time -l LIB.h5 [--score S] [--threads N] [--label L] "
                    "[--header] QUERIES\n");
            return c == 'h' ? 0 : 1;
        }
    }
    if (!libpath || optind != argc - 1 || o.threads < 1)
        return fprintf(stderr, "load_time: bad arguments (see --help)\n"), 1;
    if (!label) {
        const char *s = strrchr(libpath, '/');
        label = s ? s + 1 : libpath;
    }
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_search_opts_check(&o, &e) < 0) return fprintf(stderr, "load_time: %s\n", e.msg), 1;

    double t0 = bench_now();
    npsw_lib *lib = bench_open_lib(libpath);
    if (!lib) return 2;
    double open_s = bench_now() - t0;
    long rss_open = max_rss_kb();
    uint64_t nlib = npsw_lib_size(lib), npeaks = npsw_lib_npeaks(lib);

    npsw_spectra qs;
    if (bench_load_queries(argv[optind], lib, 1, &qs) < 0) return 1;
    if (qs.n < 1) return fprintf(stderr, "load_time: no query in %s\n", argv[optind]), 1;
    npsw_hit hits[NPSW_MAX_K];
    uint32_t nh = 0;
    double t1 = bench_now();
    if (npsw_search(lib, qs.v, 1, &o, hits, &nh, NULL, &e) < 0)
        return fprintf(stderr, "load_time: npsw_search: %s\n", e.msg), 2;
    double first_s = bench_now() - t1;
    t1 = bench_now();
    if (npsw_search(lib, qs.v, 1, &o, hits, &nh, NULL, &e) < 0)
        return fprintf(stderr, "load_time: npsw_search: %s\n", e.msg), 2;
    double second_s = bench_now() - t1;
    long rss_ready = max_rss_kb();
    npsw_spectra_free(&qs);
    npsw_lib_free(lib);

    /* how the peaks are stored (after the timing, so it does not disturb it) */
    size_t mz_b = 0, in_b = 0;
    unsigned long long mz_st = 0, in_st = 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    H5Pset_file_locking(fapl, 0, 1);
#endif
    hid_t f = H5Fopen(libpath, H5F_ACC_RDONLY, fapl);
    if (f >= 0) {
        dataset_size(f, "spectra/mz", &mz_b, &mz_st);
        dataset_size(f, "spectra/intensity", &in_b, &in_st);
        H5Fclose(f);
    }
    H5Pclose(fapl);
    struct stat sb;
    char fbytes[32] = "-";
    if (stat(libpath, &sb) == 0) snprintf(fbytes, sizeof fbytes, "%lld", (long long)sb.st_size);
    char smz[32] = "-", sin[32] = "-", sraw[32] = "-", sst[32] = "-";
    if (mz_b && in_b) {
        snprintf(smz, sizeof smz, "%zu", mz_b);
        snprintf(sin, sizeof sin, "%zu", in_b);
        snprintf(sraw, sizeof sraw, "%llu", (unsigned long long)npeaks * (mz_b + in_b));
        snprintf(sst, sizeof sst, "%llu", mz_st + in_st);
    }
    if (header)
        printf("label\tlib_spectra\tlib_peaks\topen_s\tfirst_search_s\tsecond_search_s\tready_s\t"
               "rss_open_kb\trss_ready_kb\tmz_bytes\tintensity_bytes\traw_peak_bytes\t"
               "peak_storage_bytes\tfile_bytes\n");
    printf("%s\t%llu\t%llu\t%.4f\t%.4f\t%.4f\t%.4f\t%ld\t%ld\t%s\t%s\t%s\t%s\t%s\n", label,
           (unsigned long long)nlib, (unsigned long long)npeaks, open_s, first_s, second_s,
           open_s + first_s, rss_open, rss_ready, smz, sin, sraw, sst, fbytes);
    return 0;
}
