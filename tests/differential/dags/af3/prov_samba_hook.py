"""SambaHook on a real smbd share: makedirs, open_file (write, read), push_from_local,
listdir, scandir, stat, rename, replace, walk, remove, rmdir, the error of a missing path,
a share given to the hook, and a bad auth_protocol refused when the hook is made."""

import os
import tempfile

from airflow.providers.samba.hooks.samba import SambaHook
from airflow.sdk import DAG, task
from difrec import START, rec

TOP = "prov_samba_hook"


def error_of(call):
    try:
        call()
    except Exception as error:  # what is compared is the class and its errno
        return [type(error).__name__, getattr(error, "errno", None)]
    return None


with DAG("prov_samba_hook", schedule=None, start_date=START, catchup=False):

    @task
    def files(**context):
        with SambaHook(samba_conn_id="diffsuite_samba") as hook:
            hook.makedirs(f"{TOP}/a/b", exist_ok=True)
            hook.makedirs(f"{TOP}/a/b", exist_ok=True)
            rec(context, "makedirs_again", error_of(lambda: hook.makedirs(f"{TOP}/a")))
            with hook.open_file(f"{TOP}/a/one.txt", mode="w") as out:
                out.write("first line\nsecond\n")
            with hook.open_file(f"{TOP}/a/one.txt") as read:
                rec(context, "read", read.read())
            local = os.path.join(tempfile.mkdtemp(), "local.bin")
            with open(local, "wb") as out:
                out.write(b"\x00\x01pushed")
            hook.push_from_local(f"{TOP}/a/b/pushed.bin", local)
            with hook.open_file(f"{TOP}/a/b/pushed.bin", mode="rb") as read:
                rec(context, "pushed", list(read.read()))
            rec(context, "listdir", sorted(hook.listdir(f"{TOP}/a")))
            entries = hook.scandir(f"{TOP}/a", search_pattern="*.txt")
            rec(context, "scandir", sorted((e.name, e.is_dir()) for e in entries))
            rec(context, "size", hook.stat(f"{TOP}/a/one.txt").st_size)
            hook.rename(f"{TOP}/a/one.txt", f"{TOP}/a/two.txt")
            with hook.open_file(f"{TOP}/a/three.txt", mode="w") as out:
                out.write("3")
            hook.replace(f"{TOP}/a/three.txt", f"{TOP}/a/two.txt")
            walked = [(top, sorted(d), sorted(f)) for top, d, f in hook.walk(TOP)]
            rec(context, "walk", sorted(walked))
            rec(context, "stat_missing", error_of(lambda: hook.stat(f"{TOP}/nothing")))
            rec(context, "rmdir_full", error_of(lambda: hook.rmdir(f"{TOP}/a")))
            hook.remove(f"{TOP}/a/two.txt")
            hook.remove(f"{TOP}/a/b/pushed.bin")
            hook.rmdir(f"{TOP}/a/b")
            hook.rmdir(f"{TOP}/a")
            hook.rmdir(TOP)
            rec(context, "left", hook.listdir(""))

    @task
    def shares(**context):
        with SambaHook(samba_conn_id="diffsuite_samba", share="nosuchshare") as hook:
            rec(context, "other_share", error_of(lambda: hook.listdir("")))
        bad = error_of(lambda: SambaHook(samba_conn_id="diffsuite_samba", auth_protocol="basic"))
        rec(context, "bad_auth", bad)

    files() >> shares()
