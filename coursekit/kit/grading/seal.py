"""Seal a grading process before a submission's code runs in it, so that its verdict cannot be faked unseen.

A graded cell is judged in a process of its own (``coursekit.kit.grading.sealed_run``): the kit and the checks
are loaded first, then ``install()`` seals the process, then the submission's cells run, then the checks.
Sealing means:

- **A record of everything loaded** (coursekit.kit.grading.records): every module's bindings (builtins and
  ``sys`` included), every class's attributes, what the kit's modules and exercises hold all the way down,
  ``sys.modules`` and the import hooks. Compared when the checks begin and at each report: a rebound
  ``Exercise._evaluate``, a patched ``builtins.isinstance``, a kit list emptied in place, a replaced
  ``sys.modules`` entry is named in the report, and the graded cell scores 0 with that name as its comment.
- **The labs the checks drive obey the checks only** (coursekit.kit.grading.lab_ledger): a lab numbers the
  controls that change it, and each must be one the checks sent, from their own code and threads.
- **An audit hook** (PEP 578; it cannot be removed once added) that refuses, and notes, what would reach
  around the record: replacing a function's code, the interpreter's introspection back doors (``gc``
  referrers, ``ctypes``, trace and profile functions, other threads' frames, more audit hooks), the program's
  frames read from the submission's code (``sys._getframe``, a traceback's or a generator's frame: the checks'
  variables live there), code that claims to be a kit or library file, reading the reference solutions or any process's
  memory, opening the grader's home or the course folder, writing the course's installed files, killing the
  grader, and starting programs from the submission's own code (the kit's lab servers and browser still
  start: the nearest caller that is not a library decides).
- **One report, from one place.** The verdict reaches the grader only through this hook, which writes it,
  once, with a random token the grader gave and that lives only in the hook (no Python frame or object the
  submission can reach holds it), and only when ``sys.audit(REPORT, ...)`` is raised from the frame that
  sealed the process. Anything else written to the report pipe lacks the token and is ignored.

What it does not stop: attacks on the interpreter itself (rewriting a running frame's variables through
``frame.f_locals`` on Python 3.13+, a library's own code run with the submission's globals, precise races
between threads) and attacks on the machine as the grading account. docs/instructor-guide.md says how to
grade where those cannot reach further than one submission.
"""

from __future__ import annotations

import builtins
import functools
import io
import json
import os
import sys
import sysconfig
import threading
import types
from typing import Any

from coursekit.kit.exercise import Exercise
from coursekit.kit.grading.lab_ledger import LabLedger
from coursekit.kit.grading.records import bindings, classes as classes_of, contents, module_data

__all__ = ["REPORT", "Sealed", "install", "protected_dirs"]

REPORT = "coursekit.report"  # the audit event that carries the verdict to the hook
CHECKS_BEGIN = "coursekit.checks"  # raised once the submission's cells have run, before the first check
_CONTROL = "labserver.control"  # a lab obeyed a control sent through its handle (labserver.launch.handle)
_KIT_PREFIXES = ("coursekit", "labserver")
_SPAWNING = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
             "pty.spawn")
_REFUSED = ("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys.settrace", "sys.setprofile",
            "sys._current_frames", "sys.addaudithook", "sys._setprofileallthreads", "sys._settraceallthreads",
            "cpython.PyInterpreterState_Clear", "cpython._PySys_ClearAuditHooks", "sys.remote_exec")
# What sys holds that changes as a program runs (the streams, the last error), not what the grader relies on.
_SYS_STATE = {"stdin", "stdout", "stderr", "displayhook", "excepthook", "last_type", "last_value", "last_traceback",
              "last_exc", "ps1", "ps2", "tracebacklimit"}
_OBJECT_STATE = frozenset({"last_outcome"})  # what an exercise notes about the last answer it checked
# Ways into the running program's frames, whose variables hold what a check expects: sys._getframe (inspect's
# and traceback's walks use it) and the frame attributes CPython audits as "object.__getattr__".
_FRAME_ATTRIBUTES = ("tb_frame", "gi_frame", "cr_frame", "ag_frame")
_FRAME_WALKERS = (os.sep + "inspect.py", os.sep + "traceback.py")
# Events that read a folder or a database by path (opening a file is the "open" event).
_READING_EVENTS = ("os.listdir", "os.scandir", "sqlite3.connect", "os.chdir")
_PATH_EVENTS = ("os.remove", "os.rename", "os.replace", "os.rmdir", "os.truncate", "os.chmod", "os.chown",
                "os.link", "os.symlink", "os.mkdir", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile")


class Sealed(RuntimeError):
    """Raised into the submission's code when it does something the seal refuses."""


def protected_dirs() -> tuple[str, ...]:
    """The folders the course's own packages were loaded from (an editable checkout or site-packages)."""
    found = []
    for name in _KIT_PREFIXES:
        module = sys.modules.get(name)
        for folder in getattr(module, "__path__", ()):
            found.append(os.path.realpath(folder) + os.sep)
    return tuple(found)


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(sorted({os.path.realpath(paths[k]) + os.sep for k in ("stdlib", "platstdlib", "purelib", "platlib")}))


def _kit_data(module: str) -> bool:
    """A module whose data the checks may read (its lists and dicts are compared deeply): the course's own."""
    return module.split(".")[0] in _KIT_PREFIXES


def _is_kit(obj: Any) -> bool:
    """A class or function of the course's own packages."""
    if isinstance(obj, type):
        module = type.__dict__["__dict__"].__get__(obj).get("__module__")  # a type being built may have none yet
    elif isinstance(obj, (types.FunctionType, types.MethodType)):
        module = getattr(obj, "__module__", "")
    else:
        return False
    return isinstance(module, str) and module.split(".")[0] in _KIT_PREFIXES


def install(report_fd: int, token: str, private: tuple[str, ...] = ()) -> None:
    """Seal this process; the frame that calls this is the only one whose REPORT event is written out.

    ``private``: folders nothing in this process may open, list or change from now on (the grader's home and
    the course folder), except for the Python installation, the course's packages and this process's own folder.
    """
    sealer = sys._getframe(1)
    # The threads the checks start (a time limit's worker, a race's callers): Python raises no audit event for a
    # new thread, so Thread.start notes them, before anything is recorded. What runs in any other thread is the
    # submission's, whatever its frames say (a thread whose target is a kit function, or a raw _thread one).
    started_by_checks: list = []
    start = threading.Thread.start

    def noted_start(thread: threading.Thread) -> None:
        if checks_own(depth=2):  # checks_own, noted_start, then the caller
            started_by_checks.append(thread)
        start(thread)

    threading.Thread.start = noted_start
    kit_dirs = protected_dirs()
    private = tuple(os.path.realpath(folder) + os.sep for folder in private)
    usable = (*_library_dirs(), *kit_dirs, *{os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix)},
              os.path.realpath(os.getcwd()) + os.sep)
    answers = tuple(d.replace(os.sep + "coursekit" + os.sep, os.sep + "coursekit" + os.sep + "answers" + os.sep)
                    for d in kit_dirs if d.endswith(os.sep + "coursekit" + os.sep))
    libraries = _library_dirs()
    modules = bindings()
    classes = classes_of(modules)
    hooks = (list(sys.meta_path), list(sys.path_hooks))
    # The kit's own objects (the exercises q1, q2, ...): their attributes too, e.g. an exercise's behaviours.
    objects = {id(v): (v, dict(vars(v))) for name, (_, bindings) in modules.items()
               if name.split(".")[0] in _KIT_PREFIXES for v in bindings.values()
               if isinstance(v, Exercise)}
    # What the kit's modules and exercises hold, deeply: a list or a dict changed in place is seen too.
    held = {name: module_data(module, _OBJECT_STATE) for name, (module, _) in modules.items() if _kit_data(name)}
    exercise_state = {key: contents({k: v for k, v in attributes.items() if k not in _OBJECT_STATE}, _OBJECT_STATE)
                      for key, (_, attributes) in objects.items()}
    ledger = LabLedger()
    current_thread, main_thread = threading.current_thread, threading.current_thread()  # the grading thread
    grader, grader_group = os.getppid(), os.getpgid(os.getppid())
    # Everything the hook uses, bound now: later changes to these modules cannot reach it.
    write, realpath, getframe, get_ident, dumps = os.write, os.path.realpath, sys._getframe, threading.get_ident, json.dumps
    open_code = io.open_code
    isinstance_, str_, int_, bytes_, list_, len_ = builtins.isinstance, builtins.str, builtins.int, builtins.bytes, builtins.list, builtins.len
    missing = object()
    noted: list[str] = []
    busy: set[int] = set()
    reported = [-1]  # the last graded cell reported: each once, in order

    def note(what: str) -> None:
        if what not in noted and len_(noted) < 20:
            noted.append(what)

    def made_by_submission(value: Any) -> bool:
        """Whether a new binding is the submission's own code (libraries rebind some of theirs lazily)."""
        if isinstance_(value, functools.partial):
            return True
        value = getattr(value, "__func__", value)  # methods, classmethods, staticmethods
        code = getattr(value, "__code__", None)
        if isinstance_(code, types.CodeType):
            filename = code.co_filename
            return not (filename.startswith(libraries) or filename.startswith(kit_dirs))
        cls = value if isinstance_(value, type) else type(value)
        return getattr(cls, "__module__", "") == "__main__" or any(
            made_by_submission(v) for v in vars(cls).values() if isinstance_(v, types.FunctionType))

    def changes() -> list[str]:
        found = []
        for name, (module, bindings) in modules.items():
            if sys.modules.get(name, missing) is not module:
                found.append(f"sys.modules[{name!r}] replaced")
                continue
            now = vars(module)
            strict = name.split(".")[0] in _KIT_PREFIXES or name == "builtins"
            for key, value in bindings.items():
                new = now.get(key, missing)
                if new is value or (name == "sys" and key in _SYS_STATE):
                    continue
                if strict or new is missing or made_by_submission(new):
                    found.append(f"{name}.{key} changed")
            if name.split(".")[0] in _KIT_PREFIXES:  # a name added to a kit module can shadow a builtin it uses
                found += [f"{name}.{key} added" for key in now if key not in bindings
                          and not submodule(name, key, now[key])]
        for cls, attributes in classes.items():
            now, kit = vars(cls), _is_kit(cls)
            label = f"{cls.__module__}.{cls.__qualname__}"
            for key, value in attributes.items():
                new = now.get(key, missing)
                if new is not value and (kit or new is missing or made_by_submission(new)):
                    found.append(f"{label}.{key} changed")
            found += [f"{label}.{key} added" for key in now
                      if key not in attributes and (kit or made_by_submission(now[key]))]
        for obj, attributes in objects.values():
            now = vars(obj)
            found += [f"{type(obj).__qualname__}.{key} changed" for key in set(attributes) | set(now)
                      if key not in _OBJECT_STATE and now.get(key, missing) is not attributes.get(key, missing)]
        for name, before in held.items():
            module = sys.modules.get(name)
            now = module_data(module, _OBJECT_STATE) if module is not None else before
            found += [f"what {name}.{key} holds changed in place" for key, value in before.items()
                      if key in now and now[key] != value]
        for key, (obj, _) in objects.items():
            now = contents({k: v for k, v in vars(obj).items() if k not in _OBJECT_STATE}, _OBJECT_STATE)
            if now != exercise_state[key]:
                found.append(f"what {type(obj).__qualname__} holds changed in place")
        if (list_(sys.meta_path), list_(sys.path_hooks)) != hooks:
            found.append("import hooks changed")
        return found

    def genuine(source: Any, filename: str) -> bool:
        """Whether compiled source is the installed file's own text (a kit module imported after the seal, its
        cached bytecode missing): the seal refuses writes to those files, so what is on disk is the kit."""
        try:
            with open_code(filename) as f:
                on_disk = f.read()
        except OSError:
            return False
        return source == on_disk if isinstance_(source, bytes_) else (
            isinstance_(source, str_) and source == on_disk.decode("utf-8", "surrogateescape"))

    def submodule(package: str, key: str, value: Any) -> bool:
        """Whether a name added to a kit package is its own submodule, imported from the installed files (a lab
        started by the submission's cells imports parts of labserver on first use)."""
        return (isinstance_(value, types.ModuleType) and getattr(value, "__name__", "") == f"{package}.{key}"
                and sys.modules.get(value.__name__) is value
                and path_of(getattr(value, "__file__", None) or "").startswith(kit_dirs))

    def path_of(value: Any) -> str:
        if isinstance_(value, (str_, bytes_)) or hasattr(value, "__fspath__"):
            try:
                path = os.fsdecode(value)
                return realpath(path) if path else ""
            except (TypeError, ValueError):
                return ""
        return ""

    def from_submission() -> bool:
        """Whether the nearest caller that is neither a library nor generated code is the submission's."""
        frame = getframe(3)  # from_submission, judge, hook, then whoever raised the event
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(kit_dirs):
                return False
            if not (filename.startswith(libraries) or filename.startswith("<frozen") or filename == "<string>"):
                return True
            frame = frame.f_back
        return False

    def checks_own(depth: int = 3) -> bool:
        """Whether the check's code alone is running: the grading thread or one the checks started, and no submission
        frame anywhere on this thread's stack (``depth``: the frames to skip, the seal's own)."""
        thread = current_thread()
        if thread is not main_thread and thread not in started_by_checks:
            return False
        frame = getframe(depth)  # checks_own, judge, hook, then whoever raised the event
        while frame is not None:
            filename = frame.f_code.co_filename
            if not (filename.startswith(kit_dirs) or filename.startswith(libraries) or filename.startswith("<frozen")
                    or filename == "<string>"):
                return False
            frame = frame.f_back
        return True

    def written_by_library() -> bool:
        """Whether the code raising this event is a library's or the kit's (not the submission's own line)."""
        filename = getframe(3).f_code.co_filename  # written_by_library, judge, hook, then the raiser
        return filename.startswith(libraries) or filename.startswith(kit_dirs) or filename.startswith("<frozen")

    def frames_read_by_submission() -> bool:
        """Whether the code reaching for a frame is the submission's, itself or through inspect or traceback.

        Libraries that read frames for their own work (collections, typing, enum, logging) are left alone, even
        when the submission called them: they hand back no frame."""
        frame = getframe(3)  # frames_read_by_submission, judge, hook, then whoever raised the event
        while frame is not None and frame.f_code.co_filename.endswith(_FRAME_WALKERS):
            frame = frame.f_back
        if frame is None:
            return False
        filename = frame.f_code.co_filename
        return not (filename.startswith(kit_dirs) or filename.startswith(libraries) or filename.startswith("<frozen")
                    or filename == "<string>")

    def hidden(path: str) -> bool:
        """Whether a path lies in a private folder (the grader's home, the course folder) and not in one the
        process needs (the interpreter and its libraries, the course's packages, its own scratch folder)."""
        path += os.sep
        return path.startswith(private) and not path.startswith(usable)

    def refuse(what: str) -> None:
        note(what)
        raise Sealed(f"grading refused: {what}")

    def hook(event: str, args: tuple) -> None:
        me = get_ident()
        if me in busy:  # events raised by the hook's own work
            return
        busy.add(me)
        try:
            judge(event, args)
        except Sealed:
            raise
        except Exception as error:  # noqa: BLE001 - never into C code that cannot take it (pybind11 aborts)
            note(f"the seal could not judge {event} ({type(error).__name__})")
        finally:
            busy.discard(me)

    def judge(event: str, args: tuple) -> None:
        if event == REPORT:
            if getframe(2) is not sealer or not isinstance_(args[0], int_) or args[0] <= reported[0]:
                refuse("a verdict reported from the submission's code")
            reported[0] = args[0]
            for what in ledger.close():
                note(what)
            tampered = noted + changes()
            line = token + " " + dumps({"cell": args[0], "verdicts": args[1], "tampered": tampered[:20]}) + "\n"
            write(report_fd, line.encode())
        elif event == CHECKS_BEGIN:  # what the cells changed is noted now, before a thread can put it back
            if getframe(2) is sealer:
                for what in changes():
                    note(what)
        elif event == _CONTROL and len_(args) == 5:
            what = ledger.control(*args, by_check=checks_own())
            if what:
                note(what)
        elif event == "sys._getframe" or (event == "object.__getattr__" and len_(args) > 1
                                          and args[1] in _FRAME_ATTRIBUTES):
            if frames_read_by_submission():
                refuse("reading the program's frames (where the checks keep what they expect)")
        elif event in ("object.__setattr__", "object.__delattr__"):
            # A kit class loaded before the seal, or any function's code but the submission's own (a class a kit
            # module first imported after the seal still gets its attributes set as it is built: a dataclass).
            if (_is_kit(args[0]) and (args[0] in classes or not isinstance_(args[0], type))) or (
                    args[1] == "__code__" and not made_by_submission(args[0])):
                refuse(f"changing {getattr(args[0], '__qualname__', args[0])}.{args[1]}")
        elif event in _REFUSED or event.startswith("ctypes."):
            refuse(event)
        elif event in ("compile", "code.__new__"):
            filename = path_of(args[1]) if len_(args) > 1 else ""
            if filename.startswith(kit_dirs) and not (event == "compile" and genuine(args[0], filename)):
                refuse(f"code that claims to be {filename}")
            # Code the submission itself names after a library file would pass for the library's in a stack.
            if filename.startswith(libraries) and not written_by_library() and not (
                    event == "compile" and genuine(args[0], filename)):
                refuse(f"code that claims to be {filename}")
        elif event == "open":
            path = path_of(args[0])
            mode = args[1] if len_(args) > 1 and isinstance_(args[1], str_) else "r"
            flags = args[2] if len_(args) > 2 and isinstance_(args[2], int_) else 0
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND):
                mode += "w"
            if path.startswith(answers):
                refuse("reading the reference solutions")
            if hidden(path):
                refuse(f"opening {path} (the grader's files and the course folder are out of bounds)")
            if path.startswith("/proc/") and path.endswith(("/mem", "/environ")):
                refuse(f"reading {path}")
            if path.startswith(kit_dirs) and any(c in mode for c in "wax+"):
                refuse(f"writing {path}")
        elif event in _PATH_EVENTS:
            for value in args[:2]:
                if path_of(value).startswith(kit_dirs) or hidden(path_of(value)):
                    refuse(f"{event} on {path_of(value)}")
        elif event in _READING_EVENTS:
            if args and hidden(path_of(args[0] if args[0] is not None else ".")):
                refuse(f"{event} on {path_of(args[0] if args[0] is not None else '.')} (the grader's files and the "
                       "course folder are out of bounds)")
        elif event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            target = args[0] if isinstance_(args[0], int_) else None
            if (event == "os.kill" and target in (grader, 0, -1, -grader_group)) or (
                    event == "os.killpg" and target in (grader_group, 0)):
                refuse("signalling the grader")
        elif event.startswith(_SPAWNING) and from_submission():
            refuse(f"{event} from the submission's code")

    sys.addaudithook(hook)

