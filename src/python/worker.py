# pycache-guard compile worker. Runs isolated (-I -S) in a folder outside the
# repository, so nothing in the repository can shadow py_compile or importlib.
#
# Protocol over stdin/stdout, every field terminated by NUL (no path holds one):
#   worker says:  ready NUL <cache tag> NUL
#   request:      <op> NUL <source> NUL <cfile> NUL <optimize> NUL <mode> NUL
#                 op is "compile" (py_compile.compile) or "check" (compile() only)
#   answer:       ok NUL NUL | syntax NUL <line>:<column>:<message> NUL | error NUL <message> NUL
# Compatible with Python 3.6 and later.
import os
import sys


def main():
    import py_compile

    modes = getattr(py_compile, "PycInvalidationMode", None)
    out = sys.stdout.buffer
    stdin = sys.stdin.buffer

    def send(status, message):
        data = message.encode("utf-8", "backslashreplace").replace(b"\0", b"\\0")
        out.write(status + b"\0" + data + b"\0")
        out.flush()

    def describe(error):
        if isinstance(error, SyntaxError):
            return "%s:%s:%s" % (error.lineno or 0, error.offset or 0, error.msg)
        return "0:0:%s: %s" % (type(error).__name__, error)

    def handle(op, source, cfile, optimize, mode):
        source = os.fsdecode(source)
        try:
            if op == b"compile":
                options = {}
                if modes is not None and mode:
                    options["invalidation_mode"] = modes[mode.decode()]
                py_compile.compile(source, cfile=os.fsdecode(cfile), doraise=True, optimize=int(optimize), **options)
            elif op == b"check":
                with open(source, "rb") as handle_:
                    data = handle_.read()
                compile(data, source, "exec", dont_inherit=True)
            else:
                send(b"error", "unknown request %r" % op)
                return
        except py_compile.PyCompileError as error:
            send(b"syntax", describe(error.exc_value))
        except (SyntaxError, ValueError, UnicodeDecodeError) as error:
            send(b"syntax", describe(error))
        except (RecursionError, MemoryError) as error:
            # Source that nests too deeply for this version's parser or compiler:
            # import refuses it as surely as a syntax error.
            send(b"syntax", describe(error))
        except Exception as error:
            send(b"error", "%s: %s" % (type(error).__name__, error))
        else:
            send(b"ok", "")

    send(b"ready", sys.implementation.cache_tag or "")
    pending = b""
    fields = []
    read = getattr(stdin, "read1", stdin.read)
    while True:
        chunk = read(65536)
        if not chunk:
            return
        parts = (pending + chunk).split(b"\0")
        pending = parts.pop()
        for part in parts:
            fields.append(part)
            if len(fields) == 5:
                handle(*fields)
                fields = []


main()
