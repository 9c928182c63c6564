"""Which processes run, with their command lines, and how to end them: Linux (/proc) and
Windows (the Win32 API through ctypes, so also Windows Python under Wine). Standard
library only: build/smoke_test.py runs with nothing but the executable and Python.

The platform is taken from sys.platform, never from the file system: under Wine a
`Z:\\proc` folder exists (Wine maps the Linux root to Z:), yet the processes are Windows'.
"""
import os
import signal
import sys
from pathlib import Path

WINDOWS = sys.platform == "win32"
LINUX = sys.platform.startswith("linux")


class Proc:
    __slots__ = ("pid", "ppid", "name", "cmdline")

    def __init__(self, pid, ppid, name, cmdline):
        self.pid, self.ppid, self.name, self.cmdline = pid, ppid, name, cmdline

    def __repr__(self):
        return f"{self.pid} {self.name} ({self.cmdline or '?'})"


if WINDOWS:
    import ctypes
    from ctypes import wintypes

    _k32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _ntdll = ctypes.WinDLL("ntdll")
    TH32CS_SNAPPROCESS = 0x2
    PROCESS_TERMINATE = 0x1
    PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    PROCESS_QUERY_INFORMATION = 0x400
    PROCESS_VM_READ = 0x10
    STILL_ACTIVE = 259
    ProcessCommandLineInformation = 60  # Windows 8.1+; Wine implements it
    INVALID_HANDLE = wintypes.HANDLE(-1).value

    class PROCESSENTRY32W(ctypes.Structure):
        _fields_ = [("dwSize", wintypes.DWORD), ("cntUsage", wintypes.DWORD),
                    ("th32ProcessID", wintypes.DWORD), ("th32DefaultHeapID", ctypes.c_size_t),
                    ("th32ModuleID", wintypes.DWORD), ("cntThreads", wintypes.DWORD),
                    ("th32ParentProcessID", wintypes.DWORD), ("pcPriClassBase", wintypes.LONG),
                    ("dwFlags", wintypes.DWORD), ("szExeFile", wintypes.WCHAR * 260)]

    class UNICODE_STRING(ctypes.Structure):
        _fields_ = [("Length", wintypes.USHORT), ("MaximumLength", wintypes.USHORT),
                    ("Buffer", ctypes.c_void_p)]

    _k32.CreateToolhelp32Snapshot.restype = wintypes.HANDLE
    _k32.CreateToolhelp32Snapshot.argtypes = [wintypes.DWORD, wintypes.DWORD]
    _k32.Process32FirstW.argtypes = [wintypes.HANDLE, ctypes.POINTER(PROCESSENTRY32W)]
    _k32.Process32NextW.argtypes = [wintypes.HANDLE, ctypes.POINTER(PROCESSENTRY32W)]
    _k32.OpenProcess.restype = wintypes.HANDLE
    _k32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    _k32.CloseHandle.argtypes = [wintypes.HANDLE]
    _k32.GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
    _k32.TerminateProcess.argtypes = [wintypes.HANDLE, wintypes.UINT]
    _k32.ReadProcessMemory.argtypes = [wintypes.HANDLE, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    _ntdll.NtQueryInformationProcess.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p,
                                                 wintypes.ULONG, ctypes.POINTER(wintypes.ULONG)]

    def _read(handle, address, size):
        buf = ctypes.create_string_buffer(size)
        done = ctypes.c_size_t()
        if not _k32.ReadProcessMemory(handle, ctypes.c_void_p(address), buf, size,
                                      ctypes.byref(done)) or done.value != size:
            return None
        return buf.raw

    def _cmdline_from_peb(handle):
        """The command line from the process's PEB (64-bit layout): Wine 8 answers
        ProcessCommandLineInformation only for the calling process."""
        info = (ctypes.c_void_p * 6)()  # PROCESS_BASIC_INFORMATION; [1] = PebBaseAddress
        size = wintypes.ULONG()
        if _ntdll.NtQueryInformationProcess(handle, 0, info, ctypes.sizeof(info),
                                            ctypes.byref(size)) != 0 or not info[1]:
            return None
        raw = _read(handle, info[1] + 0x20, 8)  # PEB.ProcessParameters
        params = raw and int.from_bytes(raw, "little")
        raw = params and _read(handle, params + 0x70, 16)  # .CommandLine (UNICODE_STRING)
        if not raw:
            return None
        length, address = int.from_bytes(raw[:2], "little"), int.from_bytes(raw[8:], "little")
        text = _read(handle, address, length) if length else b""
        return None if text is None else text.decode("utf-16-le", errors="replace")

    def _cmdline(pid):
        handle = _k32.OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, False, pid)
        if not handle:
            return None
        try:
            size = wintypes.ULONG(0)
            buf = ctypes.create_string_buffer(65536)
            status = _ntdll.NtQueryInformationProcess(handle, ProcessCommandLineInformation,
                                                      buf, len(buf), ctypes.byref(size))
            if status != 0:
                return _cmdline_from_peb(handle)
            text = UNICODE_STRING.from_buffer(buf)
            return ctypes.wstring_at(text.Buffer, text.Length // 2) if text.Buffer else ""
        finally:
            _k32.CloseHandle(handle)

    def processes():
        snap = _k32.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)
        if snap == INVALID_HANDLE:
            raise OSError(ctypes.get_last_error(), "CreateToolhelp32Snapshot failed")
        found = []
        try:
            entry = PROCESSENTRY32W()
            entry.dwSize = ctypes.sizeof(entry)
            ok = _k32.Process32FirstW(snap, ctypes.byref(entry))
            while ok:
                pid = entry.th32ProcessID
                if pid and pid != os.getpid():
                    found.append(Proc(pid, entry.th32ParentProcessID, entry.szExeFile,
                                      _cmdline(pid)))
                ok = _k32.Process32NextW(snap, ctypes.byref(entry))
        finally:
            _k32.CloseHandle(snap)
        return found

    def alive(pid):
        handle = _k32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return False
        try:
            code = wintypes.DWORD()
            return bool(_k32.GetExitCodeProcess(handle, ctypes.byref(code))) and \
                code.value == STILL_ACTIVE
        finally:
            _k32.CloseHandle(handle)

    def kill(pid):
        """TerminateProcess: what Task Manager's End task does (no handler runs)."""
        handle = _k32.OpenProcess(PROCESS_TERMINATE, False, pid)
        if handle:
            try:
                _k32.TerminateProcess(handle, 1)
            finally:
                _k32.CloseHandle(handle)

else:
    def _stat(entry):
        return (entry / "stat").read_text().rsplit(")", 1)[1].split()

    def processes():
        found = []
        if not LINUX:  # macOS: no /proc; the process checks are skipped there
            return found
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                stat = _stat(entry)
                if stat[0] == "Z":
                    continue
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                found.append(Proc(int(entry.name), int(stat[1]), entry.name,
                                  cmdline.decode(errors="replace").strip()))
            except OSError:
                continue
        return found

    def alive(pid):
        try:
            return _stat(Path(f"/proc/{pid}"))[0] != "Z"
        except OSError:
            return False

    def kill(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def cmdline(pid):
    """One process's command line ("" when it is gone or unreadable)."""
    if WINDOWS:
        return _cmdline(pid) or ""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except OSError:
        return ""


def supported():
    """True where processes() sees the system's processes."""
    return WINDOWS or LINUX


def using(needle, exe_name=None):
    """Processes whose command line contains `needle` (case-insensitively on Windows);
    where a command line cannot be read, those whose program is named exe_name."""
    fold = str.lower if WINDOWS else str
    needle = fold(str(needle))
    return [p for p in processes()
            if (needle in fold(p.cmdline) if p.cmdline is not None
                else exe_name is not None and p.name.lower() == exe_name.lower())]


def descendants(pid):
    """PIDs below pid (by parent PID; a child whose parent died is no longer found)."""
    table = processes()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p.pid for p in table if p.ppid in frontier} - found
        found |= frontier
    return found
