"""`deepmir review`: the reading station in the browser, on trame-slicer.

    worklist   the cases and their status in the training set (no Slicer, no trame)
    access     loopback-only by default, an access token on any other address
    session    one case on an MRML scene: images, background detection, edits, approval
    app        the web page (trame-slicer views, lesion table, Segment Editor effects)

Only `app` needs the web extra (`pip install DeepMIRLib[web]`); it is imported when the
server starts, so `import DeepMIRLib.review` costs nothing without it.
"""
