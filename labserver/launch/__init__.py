"""Starting a lab: the handle (``labserver.start()``), the command line, the server process, and the fork servers
that start servers fast (forkclient: the starting side; forkserver: the process; forkchild, forkwire: its parts)."""
