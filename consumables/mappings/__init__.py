"""Mapping changes (对码变更): procurement proposes a change of an item's codes; a second
person approves it; only then does the live master change."""
