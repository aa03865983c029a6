from distillguard.enforce.context import template_key

ASK = "Explain step by step how to balance the redox equation below and name each half reaction."


def test_one_prompt_has_one_template_key_in_every_api_shape():
    chat = template_key({"messages": [{"role": "system", "content": "You are a chemist."},
                                      {"role": "user", "content": ASK}]})
    responses_text = template_key({"instructions": "You are a chemist.", "input": ASK})
    responses_items = template_key({"input": [{"role": "developer", "content": "You are a chemist."},
                                              {"role": "user", "content": [{"type": "input_text", "text": ASK}]}]})
    anthropic = template_key({"system": "You are a chemist.", "messages": [{"role": "user", "content": ASK}]})
    assert chat is not None and chat == responses_text == responses_items == anthropic


def test_the_system_prompt_is_part_of_the_key_and_short_prompts_have_none():
    assert template_key({"instructions": "You are a chemist.", "input": ASK}) != template_key({"input": ASK})
    assert template_key({"input": "hi there"}) is None
