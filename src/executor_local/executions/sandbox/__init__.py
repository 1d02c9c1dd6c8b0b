"""Code mode: the agent's TypeScript runs in QuickJS, in a worker process, against the catalog.

The pieces, from the bottom: ``limits`` (what a program may use), ``strip`` (TypeScript to
JavaScript with vendored sucrase), ``engine`` + ``worker`` (the QuickJS side, in a child
process so a crash of the engine cannot take the daemon down), ``pool`` (warm workers),
``journal`` (what a replay needs), ``host`` (the catalog as the sandbox sees it), ``runner``
(one run of a program against a host and a journal), ``results`` (Executor's answer shapes).
Nothing here imports quickjs on the daemon's side; only the worker process does.
"""
