"""A small built-in corpus, generated from templates and slots written for this project.

Used when neither the shared data folder nor the sharegpt package is available, so the
simulator always runs (CI, fresh installs). It is deliberately varied across capabilities
but much smaller than the real corpora.
"""

from __future__ import annotations

import itertools
import random

TOPICS = ("photosynthesis", "inflation", "black holes", "the French Revolution", "vaccines", "compound interest",
          "machine learning", "climate change", "the immune system", "supply chains", "quantum computing", "sleep")
HOWTO = ("fix a leaking tap", "negotiate a raise", "start running at 40", "learn Japanese faster", "make sourdough bread",
         "prepare for a job interview", "set up a home network", "reduce my electricity bill", "train a puppy", "write a CV")
CHAT = ("Explain {t} like I'm twelve.", "What are the pros and cons of {t}?", "How do I {h}?", "Give me a 5-step plan to {h}.",
        "Write a short poem about {t}.", "What's the most common misconception about {t}?", "Can you summarise the history of {t}?",
        "I need to {h} by next week. Where do I start?")
TASKS = ("Write a {f} about {t}.", "Classify the sentiment of this review: '{r}'", "Rewrite this sentence formally: '{r}'",
         "Give three examples of {t} in everyday life.", "Translate into German: '{r}'", "Generate a quiz question about {t}.")
FORMS = ("haiku", "tweet", "limerick", "two-paragraph essay", "product description", "news headline")
REVIEWS = ("the battery died after two days", "best pizza I've had in years", "shipping was slow but the item is fine",
           "customer service never replied", "works exactly as described")
LANGS = ("Python", "JavaScript", "Go", "Rust", "Java", "SQL", "TypeScript", "C++")
CODE_TASKS = ("reverses a linked list", "parses an ISO date string", "removes duplicates from a list while keeping order",
              "computes a moving average", "validates an email address", "merges two sorted arrays", "counts word frequencies",
              "retries an HTTP request with backoff", "flattens a nested dictionary", "finds the longest common prefix")
CODE_ASKS = ("Write a {l} function that {c}.", "How would you implement something that {c} in {l}?",
             "My {l} code that {c} is too slow. How can I speed it up?", "Write unit tests for a {l} function that {c}.")
SNIPPETS = (
    "def {n}(items):\n    seen = set()\n    out = []\n    for x in items:\n        if x not in seen:\n            seen.add(x)\n            out.append(x)\n    return out\n",
    "function {n}(a, b) {{\n  const out = [];\n  let i = 0, j = 0;\n  while (i < a.length && j < b.length) out.push(a[i] < b[j] ? a[i++] : b[j++]);\n  return out.concat(a.slice(i), b.slice(j));\n}}\n",
    "func {n}(s string) map[string]int {{\n\tcounts := map[string]int{{}}\n\tfor _, w := range strings.Fields(s) {{\n\t\tcounts[w]++\n\t}}\n\treturn counts\n}}\n",
    "SELECT customer_id, SUM(amount) AS total\nFROM orders\nWHERE created_at >= '2025-01-01'\nGROUP BY customer_id\nORDER BY total DESC\nLIMIT 10;\n",
)
FUNCS = (
    ({"name": "get_weather", "description": "Current weather for a city.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}},
     ("What's the weather in {c} right now?", "Do I need an umbrella in {c} today?")),
    ({"name": "convert_currency", "description": "Convert an amount between currencies.", "parameters": {"type": "object", "properties": {"amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}}, "required": ["amount", "from", "to"]}},
     ("How much is {n} euros in yen?", "Convert {n} USD to GBP.")),
    ({"name": "create_event", "description": "Create a calendar event.", "parameters": {"type": "object", "properties": {"title": {"type": "string"}, "start": {"type": "string"}, "minutes": {"type": "integer"}}, "required": ["title", "start"]}},
     ("Schedule a {n}-minute call with the design team tomorrow at 10.", "Put 'dentist' in my calendar on Friday at 3pm.")),
    ({"name": "search_flights", "description": "Search flights between two airports.", "parameters": {"type": "object", "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}, "date": {"type": "string"}}, "required": ["origin", "destination"]}},
     ("Find flights from {c} to Boston on March {n}.", "Any direct flights from {c} to Tokyo next week?")),
    ({"name": "query_orders", "description": "Look up a customer's orders.", "parameters": {"type": "object", "properties": {"customer_id": {"type": "integer"}, "status": {"type": "string"}}, "required": ["customer_id"]}},
     ("Show me the open orders for customer {n}.", "Has customer {n} had any refunds?")),
)
CITIES = ("Paris", "Lagos", "Denver", "Hanoi", "Lima", "Oslo", "Pune", "Leeds")
JUDGE = (
    "Compare two answers to the same instruction and decide which is better.\n\nInstruction:\n{instruction}\n\nAnswer A:\n{output_1}\n\nAnswer B:\n{output_2}\n\nReply with 'A' or 'B' only.",
    "<|im_start|>system\nYou grade assistant responses for helpfulness and accuracy.\n<|im_end|>\n<|im_start|>user\nTask: {instruction}\n\n[Response 1]\n{output_1}\n\n[Response 2]\n{output_2}\n\nExplain briefly, then output the number of the better response.\n<|im_end|>",
    "Rate which response follows the instruction more faithfully. Think about correctness first, then style.\n# Instruction\n{instruction}\n# Response (a)\n{output_1}\n# Response (b)\n{output_2}\n# Verdict (a or b):",
)
META = (
    "Come up with 20 varied task instructions for training a language model. Mix question types, vary the verbs, and include an input where it helps. Number them 1-20.",
    "Generate 20 diverse programming tasks with short inputs and reference solutions. Use different languages and difficulty levels.",
)


def corpus(seed: int = 0) -> dict[str, list]:
    """Return lists in the same shape as the real corpora (see corpora.Corpus)."""
    r = random.Random(seed)
    chat = [c.format(t=t, h=h) for c, t, h in itertools.product(CHAT, TOPICS, HOWTO[:4])]
    tasks = [t.format(f=f, t=tp, r=rv) for t, f, tp, rv in itertools.product(TASKS, FORMS[:3], TOPICS[:8], REVIEWS[:2])]
    code = [a.format(l=lang, c=c) for a, lang, c in itertools.product(CODE_ASKS, LANGS, CODE_TASKS)]
    names = ("dedupe", "merge_sorted", "word_counts", "top_customers", "helper", "process")
    snippets = [s.format(n=n) for s, n in itertools.product(SNIPPETS, names)]
    tools = [(q.format(c=c, n=r.randint(2, 900)), [f]) for f, qs in FUNCS for q in qs for c in CITIES]
    r.shuffle(chat), r.shuffle(tasks), r.shuffle(code)
    answers = [(q, f"{a} {q.rstrip('?.')} involves several parts; the key point is to take it one step at a time.")
               for q, a in zip(chat + tasks, itertools.cycle(("Good question.", "In short:", "Here is an overview.")))]
    convs = [[(chat[i], answers[i][1]), (chat[i + 1], answers[i + 1][1])] for i in range(0, len(chat) - 1, 2)]
    return {"chat": chat, "convs": convs, "answers": answers, "instructions": tasks + chat[:40], "code": code,
            "snippets": snippets, "tools": tools, "judge": list(JUDGE), "meta": list(META)}
