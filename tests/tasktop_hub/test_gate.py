from tasktop_hub import gate


def test_blockers_stop_processing_until_cleared(monkeypatch):
    monkeypatch.setattr(gate, "_blockers", {})
    state = {"blocked": True}
    gate.register_blocker("test")(lambda: "License expired." if state["blocked"] else None)
    assert gate.processing_blocked_reason() == "License expired."
    state["blocked"] = False
    assert gate.processing_blocked_reason() is None
