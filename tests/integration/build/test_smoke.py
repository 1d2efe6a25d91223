def test_smoke(b):
    res = b.build({"Dockerfile": "FROM busybox:local\nRUN echo hi > /x\nCMD [\"cat\", \"/x\"]\n"}, "-t", "smoke")
    print(res.stdout, res.stderr)
    assert "Successfully tagged smoke:latest" in res.stdout
    assert b.run("smoke") == "hi\n"
