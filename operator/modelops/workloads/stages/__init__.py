"""Stage entry points `modelops worker <stage>` dispatches to: each reads its config, works, writes its result."""
