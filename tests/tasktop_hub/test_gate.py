from tasktop_hub import conditions


def test_conditions_stop_processing_until_cleared(monkeypatch):
    monkeypatch.setattr(conditions, "_conditions", {})
    state = {"blocked": True}
    conditions.register(conditions.Condition(
        key="test", reason=lambda: "License expired." if state["blocked"] else None, issue_key="test.blocked",
        issue_title="Blocked"))
    assert conditions.processing_blocked_reason() == "License expired."
    assert conditions.banner() == ["Nothing is processed: License expired."]
    state["blocked"] = False
    assert conditions.processing_blocked_reason() is None
    assert conditions.banner() == []
