"""RL export (verl / OpenRLHF / TRL prompt datasets), the rule-based reward and launch scripts.

``tasks.export.rl.export.export_rl`` is the Prefect task; ``tasks/export/rl/reward.py`` is standard-library only
so trainers can import it by file path. Nothing heavy is imported here.
"""
