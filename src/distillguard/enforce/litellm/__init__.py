"""distillguard as a LiteLLM proxy guardrail.

In the LiteLLM config (see deploy/litellm/config.yaml):

    guardrails:
      - guardrail_name: distillguard
        litellm_params:
          guardrail: distillguard.enforce.litellm.guardrail.DistillGuard
          mode: [pre_call, post_call]
          default_on: true

The guardrail module imports LiteLLM, which lives in its own venv (.venv-litellm); this package
imports nothing from it until the class is asked for, so the rest of distillguard never needs it."""


def __getattr__(name: str):
    if name == "DistillGuard":
        from .guardrail import DistillGuard
        return DistillGuard
    raise AttributeError(name)


__all__ = ["DistillGuard"]
