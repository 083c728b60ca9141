"""Configs and PreTrainedModels, one folder per model family."""
