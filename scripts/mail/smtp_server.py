"""aiosmtpd for the tests, on a port the system picks.

`python smtp_server.py MAILDIR` serves SMTP on 127.0.0.1, port 0, keeping what it
receives in MAILDIR (aiosmtpd.handlers.Mailbox, as `python -m aiosmtpd -n -c
aiosmtpd.handlers.Mailbox` does), and prints "aiosmtpd listening on 127.0.0.1:PORT"
once it listens: the tests read the port from that line instead of picking a free
port first, which another process could take before aiosmtpd binds it.
"""

import asyncio
import sys

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP


async def main(maildir: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Mailbox(maildir)), host="127.0.0.1", port=0)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"aiosmtpd listening on {host}:{port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
