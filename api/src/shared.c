/* shared.c - the shared libnpsw's own translation unit: the library's code comes whole from the
 * static libnpsw (cmake/NpswInstall.cmake); CMake needs at least one source per library. */
typedef int npsw_shared_no_code;
