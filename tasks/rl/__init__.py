"""RL export (verl / OpenRLHF / TRL prompt datasets), the rule-based reward and launch scripts.

``tasks.rl.export.export_rl`` is the Prefect task; ``tasks/rl/reward.py`` is standard-library only
so trainers can import it by file path. Nothing heavy is imported here.
"""
