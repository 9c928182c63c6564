/* A stand-in for Windows' bcryptprimitives.dll, for the Wine test prefix ONLY (never
 * shipped, never on a real Windows, which has had the real one since Windows 8).
 *
 * Rust's standard library (1.78 and later) draws random bytes with ProcessPrng from
 * bcryptprimitives.dll; every Rust-built Python extension (pydantic-core) imports it.
 * Wine added that DLL in 9.0; Debian 12's Wine 8.0 lacks it, and the extension then fails
 * to load ("DLL load failed ... Module not found"). This forwards to RtlGenRandom
 * (advapi32's SystemFunction036), the same system generator. */
#include <windows.h>

typedef BOOLEAN (WINAPI *gen_random_fn)(PVOID, ULONG);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    static gen_random_fn gen_random;
    if (!gen_random) {
        HMODULE advapi = LoadLibraryA("advapi32.dll");
        if (!advapi) return FALSE;
        gen_random = (gen_random_fn)GetProcAddress(advapi, "SystemFunction036");
        if (!gen_random) return FALSE;
    }
    while (len) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!gen_random(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
