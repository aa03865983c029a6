"""Content signals: what the prompt asks the model to produce.

Each is a sum of weighted cues (see `CueSignal`), so one generic phrase ("think step by step", "rubric",
a sensitive topic) stays weak and only the combination that harvesting needs scores high. Cues read
`zone` (head and tail of the system prompt and the last user turn, where instructions sit) unless
they need the layout of the whole prompt (`body`) or its very end (`user_tail`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .base import BODY, USER_TAIL, ZONE, Cue, CueSignal, Signal, register


def any_of(*patterns: str) -> str:
    return "|".join(patterns)


# What a model's reasoning is called when someone asks for it.
_REASONING = (r"(reasoning|thinking|thoughts?|thought process|chain[- ]of[- ](thought|reasoning|logic)|"
              r"deliberations?|rationale|scratch ?pad|problem[- ]solving( process)?|inner monologue|"
              r"train of thought|cognitive process)")


@register
class CotElicitation(CueSignal):
    """Asks to expose or reconstruct the model's reasoning: hidden reasoning weighs most, "step by step" least."""

    name = "cot_elicitation"
    reason_code = "COT_ELICITATION"
    description = ("Prompt asks for the model's full, internal or reconstructed reasoning trace, "
                   "beyond an ordinary 'think step by step'.")
    cues = (
        # Reasoning the model would otherwise keep to itself.
        Cue("hidden", 0.6, any_of(
            rf"\b(internal|hidden|private|inner|raw|unfiltered|unredacted|secret|concealed|latent)\s+{_REASONING}",
            r"\b(normally|usually|would)\s+keep\s+(private|hidden|to yourself)")),
        # A verb that turns reasoning into output, with the reasoning as its object.
        Cue("expose", 0.45, any_of(
            r"\b(reconstruct|recreate|articulate|externali[sz]e|narrat|reveal|expose|disclose|spell out|write out|"
            rf"write down|lay out|dump|transcribe|verbali[sz]e|imagine|replay)\w*\b[^.\n]{{0,40}}\b{_REASONING}",
            r"\b(reason|think)(ing)?\s+(out loud|aloud)\b",
            r"\b(exactly|precisely)\s+how you (arrive|arrived|got|reach|reached|came)\b",
            r"\btrace of (how you|your) (reason|think)")),
        # Reasoning for an answer that already exists: back-filling the rationale of a training pair.
        Cue("reverse", 0.3, any_of(
            rf"\b({_REASONING}|steps|logic)\s+(that\s+|which\s+)?(behind|leading to|led to|produced|would (produce|"
            r"lead to|have led to)|to arrive at)\s+(this|that|the|a|an|each|your)\s+(\w+\s+)?(response|answer|solution|"
            r"output|completion|result)s?\b",
            r"\b(given|completed|finished|provided|existing|reference)\s+(\w+\s+){0,2}(response|answer|solution|output|"
            rf"completion)s?\b[^.\n]{{0,80}}\b{_REASONING}")),
        # The model itself as the subject whose thinking is wanted.
        Cue("own", 0.2, r"\byour (own |entire |whole |full |complete |actual |real )?(thought process|thinking process|"
                        r"chain of thought|inner monologue|train of thought|mental process|cognitive process)\b"),
        Cue("exhaustive", 0.3, any_of(
            r"\b(every|each)\s+(single\s+)?(intermediate\s+|reasoning\s+)?(step|inference|deduction|thought|check|"
            r"calculation|consideration)s?\b",
            r"\b(do not|don't|never|without)\s+(skip|omit|leav\w* out|abbreviat)\w*",
            r"\bnothing (omitted|skipped|left out)\b",
            rf"\b(full|complete|entire|whole|exhaustive|unabridged|rigorous|thorough)\s+(\w+\s+)?{_REASONING}",
            r"\bincluding\s+(any\s+|the\s+|all\s+)?(dead[- ]ends|corrections|mistakes|false starts|backtrack|rejected|"
            r"discarded|abandoned)",
            r"\bexhaustive\b",
            r"\bas you (have|think of) (it|them)\b",
            r"\bnot just the (conclusion|answer|result)")),
        # Layout that separates a trace from an answer, as a training pair needs.
        Cue("trace_format", 0.15, any_of(
            r"\bnumber(ed)?\s+(each|every|all|the)?\s*(step|one)s?\b",
            r"\bnumbered (list of )?steps\b",
            r"\b(two|separate|distinct) sections\b",
            r"['\"#*]\s*reasoning\s*['\":*]",
            r"\bfinal answer\b[^.\n]{0,30}\b(own|separate|last|single) line\b",
            r"\\boxed|\bin a box\b",
            r"\bbefore (giving|stating|writing|providing|committing to|you (give|commit|answer|state))",
            r"\bonly then\b")),
        Cue("generic", 0.15, any_of(
            r"step[- ]by[- ]step",
            r"\bshow (your|all( of)? your|the|all)\s+(work|working|steps)\b",
            r"\bexplain (your|the) (reasoning|thinking|logic)\b",
            r"\bthink (carefully|hard|slowly|it through|this through|through)\b",
            r"\breason (briefly|carefully|it out|about)\b",
            r"\bwork (it|this) out\b",
            r"\blet'?s think\b",
            r"\bwalk me through\b",
            r"\b(include|provide|give|show) (the |your )?reasoning\b",
            r"\bmake (your|the) reasoning explicit\b")),
    )


# Candidate answers laid out side by side: "Output (a)" ... "Output (b)", "Assistant A's Answer" ... "[Response 2]",
# "model_1" ... "model_2": a first and a second label, in that order; or the same answer slot twice in a
# structured layout ({"output": ...}, {"output": ...}).
_LABEL = (r"\b(output|response|answer|assistant|candidate|completion|model|generation|summary|reply|translation)s?"
          r"[ _-]?[(\[`'\"]?{}[)\]`'\"]?(\s*[:,\]\n)]|'s|’s|\s+(is|was|for|and|or|vs)\b)")
_SLOT = r"[\"'](output|answer|response|result|completion)[\"']\s*:"
_CANDIDATES = any_of(_LABEL.format("(a|1)") + r"[\s\S]*" + _LABEL.format("(b|2)"), _SLOT + r"[\s\S]*" + _SLOT)
_GRADED = r"(responses?|answers?|outputs?|completions?|replies|generations?)"


@register
class RewardModelGrading(CueSignal):
    """The model as a grader: candidate answers laid out plus a verdict or score request; a rubric alone is weak."""

    name = "reward_model_grading"
    reason_code = "REWARD_MODEL_GRADING"
    description = ("Prompt hands the model one or more candidate responses and asks for a preference, "
                   "ranking or score, as a reward model would give.")
    # The request (verdict, score, role, criteria) is an instruction, read where instructions sit; the
    # candidates and slots are layout, read across the turn.
    inputs = {"zone": ZONE, "body": BODY}
    cues = (
        Cue("candidates", 0.4, _CANDIDATES, "body"),
        Cue("verdict", 0.3, any_of(
            r"\bwhich\s+(one\s+|response\s+|answer\s+|output\s+|assistant\s+|model\s+|of the (two|responses|answers|"
            r"outputs|assistants|models)\s+)?(is|was|did|does)\s+(better|best|preferred|more helpful|superior|"
            r"stronger)",
            r"\b(select|choose|pick|determine|identify|decide)\s+(the|which)\s+(\w+\s+)?(better|best|preferred|"
            r"stronger|winning|superior|most helpful)\b",
            r"\brank(ing|s)?\s+(the\s+|these\s+)?(models|responses|answers|outputs|candidates|completions|"
            r"assistants)\b",
            r"\b(best|better|preferred|winning)\s+(output|response|answer|completion|model)\b",
            r"\b(a|b|1|2)\s+(is|was)\s+better\b",
            r"\bpairwise\b|\[\[a\]\]|\bfinal verdict\b|\bleaderboard\b|\bwhich is best\b",
            r"\bpreferred by (humans|users|annotators)\b")),
        Cue("score", 0.25, any_of(
            r"\b(score|rate|rating|grade|points?|marks?)\b[^.\n]{0,60}\b(from|between|out of)\s+\d+",
            r"\bon a scale (of|from)\b",
            r"\brubric\b|\boverall score\b",
            r"\bscores? for (assistant|response|answer|output|each)")),
        Cue("grader_role", 0.2, any_of(
            r"\b(act as|acting as|you are|serve as|play the role of)\s+(an?\s+)?(impartial|fair|neutral|objective|"
            r"expert|strict|careful|helpful|unbiased)?\s*(judge|grader|evaluator|annotator|rater|reward model|critic|"
            r"assessor|referee)\b",
            r"\b(evaluat|assess|judg|grad|check|rat|scor|compar|critiqu|rank)\w*\s+(the\s+)?(models\s+by\s+the\s+)?"
            r"(quality|helpfulness|correctness|accuracy)\s+of\b",
            r"\b(rate|score|grade|evaluate|judge|assess|critique|compare)\s+(the|this|each|these|both|following|given|"
            rf"two|their|all)\s+(\w+\s+)?{_GRADED}\b",
            r"\bhuman[- ]preferred\b|\bannotation guideline")),
        # A single response put up for grading (pointwise reward scoring).
        Cue("graded_slot", 0.15, any_of(
            r"\[the (start|end) of\b",
            r"(^|\n)[#*\[ \t]*(the )?(ai |model |assistant'?s? |candidate )?(response|answer|output|completion)"
            r"[\]* \t]*:?[ \t]*\n",
            rf"\b(here|below) (is|are)\s+(the|a|an|two|some)\s+(\w+\s+)?{_GRADED}\b",
            rf"\b{_GRADED}\s+to\s+(be\s+)?(evaluat|grad|scor|judg|rat|review)"), "body"),
        # Two or more named quality criteria.
        Cue("criteria", 0.1, r"\b(helpful(ness)?|relevan(ce|t)|accura(cy|te)|harmless(ness)?|honest(y)?|coheren(ce|t)|"
                             r"factual(ity)?|correct(ness)?|fluen(cy|t)|concise(ness)?|level of detail|"
                             r"instruction[- ]following|depth|creativity)\b", min_count=2),
    )


@register
class CensorshipRewrite(CueSignal):
    """Asks to rephrase or answer so the result passes political censorship; a sensitive topic alone is weak."""

    name = "censorship_rewrite"
    reason_code = "CENSORSHIP_REWRITE"
    description = ("Prompt asks for a politically 'safe' rewrite or officially acceptable answer, "
                   "typically of a politically sensitive question.")
    cues = (
        Cue("political_compliance", 0.45, any_of(
            r"\bpolitical(ly)?\s+(sensitive|risky|contested|charged|controversial|problematic|incorrect|safe|neutral|"
            r"acceptable|correct)",
            r"\b(sensitive|risky|contested|controversial)\s+political\b",
            r"\b(officially|politically|government)[- ](acceptable|approved|sanctioned|compliant|endorsed)",
            r"\bcontent (rules|review|regulations?|requirements|controls)\b",
            r"\bcensor(ship)?[- ](safe|proof|compliant|friendly)",
            r"\bpass\w*\s+(the\s+)?(government|state|official|regulatory)\s+(content\s+)?(review|censor|"
            r"inspection|audit)",
            r"\b(official|government|state|party|authorities'?)\s+(guidance|guidelines|line|narrative|position|stance|"
            r"standards|requirements)\b",
            r"\bregulated\s+(domestic\s+)?(chatbot|platform|assistant|model|service|market)\b",
            r"\bdomestic\s+(chatbot|platform)\b|\bcore socialist values\b",
            r"\b(avoid\w*|without|never)\s+(criticiz|criticis)\w*\s+(any\s+|the\s+)?(government|party|leadership|state|"
            r"regime|leader)",
            r"\bapproved (answer|response|version|narrative)\b")),
        Cue("sanitize", 0.25, any_of(
            r"\b(remov|strip|avoid|eliminat|scrub|omit)\w*\s+(\w+\s+){0,3}(sensitive|controversial|contested|risky|"
            r"taboo|forbidden|banned|objectionable)\b",
            r"\bwithout\s+(\w+\s+){0,2}(sensitive|controversial|contested|risky|taboo)\b",
            r"\bsteer\w* (away|clear) (from|of)\b|\bwithout naming\b",
            r"\b(neutral|safe|safer|harmless|sanitized|sanitised|innocuous|cautious|compliant|inoffensive)\s+"
            r"([\w-]+\s+)?(rephrasings?|rewrites?|versions?|alternatives?|substitutes?|answers?|responses?|questions?|"
            r"reformulations?|framing)\b")),
        Cue("rewrite", 0.2, any_of(
            r"\b(rewrite|re-write|rephrase|reword|reformulate|paraphrase|recast|reframe|rephrasings?|rewritten)\b",
            r"\bturn (the following|this|the (question|prompt|query))\b|\bsubstitutes? for\b",
            r"\b(answer|reply to|respond to) (that|the first|it) (one )?instead\b")),
        Cue("sensitive_topic", 0.25, any_of(
            r"tiananmen|june (4|fourth)(th)?,? 1989|\b1989 (protests|massacre|crackdown)",
            r"uyghur|uighur|xinjiang|\btibet",
            r"dalai lama|falun gong|liu xiaobo|cultural revolution|great leap forward|great (chinese )?famine|hong kong",
            r"\btaiwan\b|social credit|winnie the pooh|one[- ]party|\bccp\b|communist party|xi jinping|re-?education",
            r"detention camp|dissident|political prisoner|censorship",
            r"六四|天安门|法轮功|新疆|西藏|台独|达赖|习近平|文化大革命")),
    )


# Chat-template control tokens, and the openings of a user turn in the common templates.
_TEMPLATE_TOKEN = r"<\|[a-z_]{1,30}\|>|<｜[^｜]{1,30}｜>|\[/?INST\]|<</?SYS>>|</?s>|<(start|end)_of_turn>"
_ROLE_OR_SEPARATOR = r"\b(system|user|human|assistant|model|prompter)\b|[\s:#*]"
# A system block inside the template sets up the persona; it is part of the prefix, not a query.
_SYSTEM_BLOCK = (r"(?is)<\|im_start\|>\s*system.*?<\|im_end\|>|<\|start_header_id\|>\s*system\s*<\|end_header_id\|>.*?"
                 r"<\|eot_id\|>|<<SYS>>.*?<</SYS>>|<start_of_turn>\s*system.*?<end_of_turn>")
_OPEN_USER_SPECIAL = (r"(<\|im_start\|>\s*user|<\|start_header_id\|>\s*user\s*<\|end_header_id\|>|\[INST\]|"
                      r"<start_of_turn>\s*user|<\|user\|>|<\|prompter\|>|<｜user｜>|"
                      r"<\|start\|>\s*user(<\|message\|>)?)\s*$")
_OPEN_USER_TEXT = r"(^|\n)\s*(###\s*)?(human|user)\s*:\s*$"
_SHORT_TURN = 500  # characters: a template prefix, even with a system block, is short


@register
class MagpiePrefix(Signal):
    """The user turn is only a chat-template prefix (best: an open user header), so the model writes the query."""

    name = "magpie_prefix"
    reason_code = "MAGPIE_PREFIX"
    description = ("Last user turn holds nothing but chat-template tokens or role markers ending in an open "
                   "user turn (Magpie-style query synthesis).")
    inputs = {
        "user_short": f"CASE WHEN strlen(e.last_user_message) <= {_SHORT_TURN} THEN e.last_user_message END",
        "user_tail": USER_TAIL,
        # An empty text turn asks for something from nothing; image-only turns have no text and do not count.
        "user_blank": "CASE WHEN strlen(e.last_user_message) <= 64 THEN trim(e.last_user_message) = '' END "
                      "AND coalesce(e.image_parts, 0) = 0",
    }

    def score(self, batch: pa.Table) -> np.ndarray:
        def found(column: str, pattern: str) -> np.ndarray:
            return Cue(column, 0, pattern, column).hits(batch.column(column))

        special, text = found("user_tail", _OPEN_USER_SPECIAL), found("user_tail", _OPEN_USER_TEXT)
        token = found("user_short", _TEMPLATE_TOKEN)
        # Template only: nothing left once system blocks, tokens, role names and separators go (checked only
        # where it can matter).
        maybe = token | special | text
        short = pc.filter(batch.column("user_short"), maybe)
        for pattern, by in ((_SYSTEM_BLOCK, " "), ("(?i)" + _TEMPLATE_TOKEN, " "), ("(?i)" + _ROLE_OR_SEPARATOR, "")):
            short = pc.replace_substring_regex(short, pattern, by)
        only = np.zeros(batch.num_rows, dtype=bool)
        only[maybe] = pc.fill_null(pc.equal(short, ""), False).to_numpy(zero_copy_only=False)
        blank = pc.fill_null(batch.column("user_blank"), False).to_numpy(zero_copy_only=False)
        return np.select([only & special, only & text, special, only & token, text, blank],
                         [1.0, 0.8, 0.7, 0.6, 0.4, 0.3], 0.0)


_COUNT = (r"(\d{1,4}|a (set|list|batch|collection|series) of(\s+\d{1,4})?|several|many|multiple|dozens? of|"
          r"hundreds? of|thousands? of|ten|twenty|thirty|forty|fifty|hundred)")
_ITEMS = (r"(tasks?|instructions?|prompts?|questions?|queries|problems?|exercises?|examples?|conversations?|dialogues?|"
          r"samples?|data ?points?|test cases?|scenarios?|requests?|puzzles?|challenges?)")


@register
class SelfInstruct(CueSignal):
    """A meta-prompt for training data: generate N items, plus diversity, training-use, schema and open-list cues."""

    name = "self_instruct"
    reason_code = "SELF_INSTRUCT"
    description = ("Prompt asks for a batch of new, diverse tasks or examples meant as model training "
                   "data (self-instruct style).")
    inputs = {"zone": ZONE, "user_tail": USER_TAIL}
    cues = (
        Cue("generate_many", 0.35, r"\b(generate|create|come up with|write|produce|brainstorm|give me|make|compose|"
                                   r"design|propose|devise|draft|synthesi[sz]e|list)\b[^.\n]{0,30}\b" + _COUNT
                                   + r"\b[^.\n]{0,50}\b" + _ITEMS + r"\b"),
        Cue("diversity", 0.2, any_of(
            r"\bdivers(e|ity|ify)\b|\bvaried\b|\bvary (the|their|your)\b",
            r"\b(don'?t|do not|try not to|avoid) repeat|\bavoid (repetition|duplicates?)\b",
            r"\bmaximi[sz]e (the )?(diversity|variety|coverage)\b|\bwide (range|variety) of\b",
            r"\bmix (of )?(question |task )?types\b|\bdifferent (types|kinds|categories|domains|difficulty)")),
        Cue("training_use", 0.35, any_of(
            r"\b(will be|to be|are|get)\s+(given|used|fed|sent)\s+to\s+(a|an|the)\s+(\w+\s+){0,2}"
            r"(model|llm|assistant|ai)\b",
            r"\b(train|fine[- ]?tun|instruction[- ]tun|distill)\w*\s+(a|an|the|our|my)?\s*(\w+\s+)?(language\s+|gpt\s+|"
            r"ai\s+)?(model|llm)s?\b",
            r"\bsynthetic (data|dataset|examples|instructions|conversations)\b",
            r"\b(training|fine[- ]?tuning|sft|instruction[- ]tuning)\s+(data|dataset|set|corpus|examples)\b",
            r"\bseed tasks?\b|\bself[- ]instruct\b")),
        Cue("item_schema", 0.2, any_of(
            r"<noinput>|\b(input|output|instruction) field\b",
            r"\"(instruction|prompt|input|output|question|answer|response)\"\s*:",
            r"\beach (task|example|item|instruction|question|entry|sample) (should|must|needs to) "
            r"(include|contain|have)\b",
            r"\bjsonl?\b[^.\n]{0,40}\b(instruction|prompt|question)s?\b")),
        # The prompt stops where the model is to start the list.
        Cue("open_list", 0.15, r"(\blist of \d+ \w+\s*:|\n\s*1\s*[.)]|\btasks?\s*:)\s*$", "user_tail"),
    )
