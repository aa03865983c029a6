"""Prompt templates written for this project, for the classes whose real labelled text is scarce.

Most wrap real material (sentences, passages, tables, problems, tasks, tool definitions); the vision
phrasings and word problems stand alone. The corpus builder holds every fourth template of each list
out for the test split, so the reported scores are on phrasings the model never saw. Placeholders are
``str.format`` fields.
"""

# --- translation: {src} real sentence, {lang} target language -------------------------------------
TRANSLATION = [
    "Translate the following text into {lang}:\n\n{src}",
    "Translate to {lang}: {src}",
    'How do you say "{src}" in {lang}?',
    "Please provide a {lang} translation of this sentence. Keep the tone natural.\n\n\"{src}\"",
    "{src}\n\nTranslate the above into {lang}.",
    "You are a professional translator. Render the passage below in fluent {lang}, preserving meaning "
    "and register.\n\nPassage: {src}",
    "What does this mean in {lang}? {src}",
    "Can you translate this into {lang} for me, please?\n{src}",
    "Translate from the source language to {lang}.\nSource: {src}\nTarget:",
    "{lang} translation needed:\n\n{src}",
    "Translate this sentence to {lang} and add a word-by-word gloss: {src}",
    'I need this in {lang} for an email to a client: "{src}"',
    "Traduce al español el siguiente texto:\n{src}",
    "Traduis ce texte en anglais : {src}",
    "Übersetze bitte ins Deutsche: {src}",
    "请把下面这段话翻译成英文：\n{src}",
    "次の文を日本語に翻訳してください：{src}",
    "Переведи на английский язык: {src}",
    "Give me the {lang} version of: {src}",
    "Localize this UI string for {lang} users, keeping it short: {src}",
    "{src}\n\n(in {lang} please)",
    "Translate into {lang}. Return only the translation, no explanations.\n\n{src}",
    "다음 문장을 영어로 번역해 주세요: {src}",
    "Traduza para o inglês: {src}",
]

LANGUAGES = [
    "French", "Spanish", "German", "Chinese", "Japanese", "Korean", "Italian", "Portuguese", "Russian",
    "Arabic", "Hindi", "Dutch", "Turkish", "Polish", "Vietnamese", "Indonesian", "Swedish", "Greek",
    "Hebrew", "Thai", "English", "Ukrainian", "Czech", "Swahili",
]

# --- political_rewrite: {passage} real text, {topic}, {side}, {gov} ---------------------------------
POLITICAL = [
    "Rewrite the following paragraph so that it supports the {side} position on {topic}:\n\n{passage}",
    "Rephrase this answer so it is consistent with the official position of {gov} on {topic}. Remove "
    "anything that contradicts it.\n\n{passage}",
    "Here is a news summary. Rewrite it as a persuasive op-ed from a {side} viewpoint.\n\n{passage}",
    "Produce a politically safe version of this text that avoids any criticism of {gov}:\n{passage}",
    "Make this text sound more favourable to {gov} while keeping the facts vague: {passage}",
    "Spin the following statement for a {side} audience, stressing what they care about on {topic}."
    "\n\nStatement: {passage}",
    "Rewrite this so that it no longer mentions {topic} and can pass a government censorship review."
    "\n\n{passage}",
    "Turn this neutral explainer into campaign messaging for a {side} candidate:\n{passage}",
    "Reframe the paragraph below to cast doubt on critics of {gov}'s handling of {topic}.\n\n{passage}",
    "You are a state media editor. Edit the following article so it follows the party line on {topic}."
    "\n\n{passage}",
    "Rewrite this answer about {topic} so that a {side} voter would find it convincing. Keep it under "
    "150 words.\n{passage}",
    "Give a sanitized alternative to this response that would be acceptable to {gov}:\n\n{passage}",
    "Paraphrase this so it quietly favours the {side} side of the {topic} debate without sounding "
    "biased: {passage}",
    "Rewrite the following post about {topic} to make it more inflammatory towards {side} opponents."
    "\n\n{passage}",
    "Edit this encyclopedia-style paragraph so that {gov}'s narrative on {topic} reads as the "
    "mainstream view.\n\n{passage}",
    "Here is my draft speech. Rewrite it with a strong {side} slant and emotionally charged language "
    "about {topic}.\n\n{passage}",
    "Rewrite this text as if {gov}'s official spokesperson were saying it.\n\n{passage}",
    "Can you reword this paragraph to play down the protests over {topic} and stress stability and "
    "order?\n{passage}",
    "Rewrite the answer below so that it declines to discuss {topic} and steers to an approved talking "
    "point instead.\n\nQ: What happened regarding {topic}?\nA: {passage}",
    "Generate three rephrasings of this statement, each more sympathetic to the {side} view on "
    "{topic}.\n\n{passage}",
    "Write a short paragraph on {topic} that presents {gov}'s position as the only reasonable one.",
    "Explain {topic} in a way that is acceptable to {gov}, leaving out the sensitive details.",
    "Adjust the tone of this text so that it aligns with {side} talking points on {topic}:\n{passage}",
    "Remove every sentence that could embarrass {gov} from the following and smooth over the gaps:"
    "\n\n{passage}",
]

POLITICAL_TOPICS = [
    "the 1989 Tiananmen Square protests", "Taiwan's status", "Xinjiang", "Hong Kong's 2019 protests",
    "the annexation of Crimea", "the war in Ukraine", "immigration", "gun control", "abortion",
    "climate policy", "Brexit", "press freedom", "the minimum wage", "tariffs", "police reform",
    "Kashmir", "healthcare reform", "tax cuts", "same-sex marriage", "election integrity",
    "Tibet", "the death penalty", "refugee policy", "internet censorship",
]
POLITICAL_SIDES = [
    "conservative", "progressive", "left-wing", "right-wing", "nationalist", "pro-government",
    "libertarian", "populist", "socialist", "pro-business",
]
GOVERNMENTS = [
    "the Chinese government", "the Russian government", "the ruling party", "the Iranian government",
    "the current administration", "the opposition coalition", "the Communist Party", "the state",
]

# --- data_analysis: {table} real table, {col} one of its columns -----------------------------------
DATA_ANALYSIS = [
    "Here is my data:\n\n{table}\n\nWhat trends do you see? Summarise the key insights.",
    "{table}\n\nCompute the mean and standard deviation of each numeric column.",
    "Given this dataset, which variable is most correlated with {col}?\n\n{table}",
    "Analyze the following table and identify any outliers.\n{table}",
    "I ran an experiment and got these results:\n{table}\nIs the difference between groups "
    "statistically significant? Which test should I use?",
    "Please write a short data report (key statistics, notable patterns, recommendations) for the "
    "table below.\n\n{table}",
    "From the CSV below, group by {col} and give me the average of the other columns.\n```\n{table}\n```",
    "Look at this spreadsheet extract and tell me which rows look anomalous and why:\n{table}",
    "What is the median {col} in this data, and the interquartile range?\n{table}",
    "Fit a simple linear regression of {col} on the other columns using this data and interpret the "
    "coefficients.\n\n{table}",
    "Here's a sample of our data:\n{table}\nWhich segment is underperforming on {col}, and what might "
    "explain it?",
    "Describe the distribution of {col} in the following data and suggest a chart to visualise it."
    "\n{table}",
    "Given the data below, forecast the next three values of {col} and explain your method.\n{table}",
    "Check this dataset for missing or inconsistent values and suggest how to clean it.\n\n{table}",
    "Can you do an exploratory data analysis of this table?\n\n{table}",
    "Compare the rows of this data by {col}. Which ones stand out?\n{table}",
    "Summarise this table in three bullet points for an executive audience, with the numbers that "
    "matter.\n{table}",
    "Is there a relationship between {col} and the other variables here? Quantify it.\n\n{table}",
    "Calculate the percentage change in {col} from the first row to the last and comment on it."
    "\n{table}",
    "Cluster these records into natural groups and describe each group.\n{table}",
]
# Statistics and analytics questions without a table; {n}, {a}, {b}, {col} are filled with numbers/names.
DATA_QUESTIONS = [
    "I have a dataset of {n} customers with churn labels. How should I analyse which features drive "
    "{col}?",
    "My A/B test had {a} conversions out of {n} users in control and {b} out of {n} in treatment. Is "
    "this significant?",
    "What's the best way to detect seasonality in monthly {col} data?",
    "How do I interpret a correlation of 0.{a} between {col} and revenue across {n} stores?",
    "My regression of {col} has an R-squared of 0.{a} and a p-value of 0.0{b}. What does that tell me?",
    "Which statistical test should I use to compare {col} across three independent groups of {n} "
    "samples each?",
    "How should I handle outliers in {col} before computing summary statistics on {n} rows?",
    "Our dashboard shows {col} dropped {a}% week over week. How would you investigate the cause with "
    "the data we have?",
]

# --- vision: sent with at least one image attached ------------------------------------------------
VISION = [
    "What is in this image?",
    "Describe this picture in detail.",
    "Read the text in this screenshot and transcribe it exactly.",
    "What does this chart show? Summarise the trend.",
    "Extract the table in this image as CSV.",
    "Is there anything abnormal in this X-ray?",
    "Solve the math problem shown in the photo.",
    "Convert this UI mockup into HTML and CSS.",
    "Write an Instagram caption for this photo.",
    "How many people are in this picture?",
    "What breed is this dog?",
    "Translate the sign in this picture into English.",
    "Identify the plant in the image and tell me how to care for it.",
    "What's the error message in this screenshot and how do I fix it?",
    "Compare these two images and list the differences.",
    "Write alt text for this image for a screen reader.",
    "Where was this photo most likely taken?",
    "Grade the handwritten answer in this image.",
    "What ingredients can you see in my fridge? Suggest a recipe.",
    "Turn this whiteboard photo into clean meeting notes.",
    "Rate this outfit and suggest improvements.",
    "Is this mushroom in the photo edible?",
    "Read the receipt and list every item with its price.",
    "What emotion is the person in this image showing?",
    "Describe the architecture style of the building in the photo.",
    "Explain the diagram in this picture step by step.",
    "Find the bug in the code shown in this screenshot.",
    "Generate a product description from this product photo.",
    "",
]

# --- tool_use: a BFCL request whose functions travel in the prompt instead of the tools field -----
TOOLS_IN_SYSTEM = [
    "You have access to the following functions. To call a function, respond with a JSON object of the "
    'form {{"name": <function name>, "arguments": <arguments object>}}.\n\n{functions}',
    "You are a function calling AI model. You are provided with function signatures within <tools></tools> "
    "XML tags. You may call one or more functions to assist with the user query. Don't make assumptions "
    "about what values to plug into functions.\n<tools>\n{functions}\n</tools>\nFor each function call "
    "return a json object with function name and arguments within <tool_call></tool_call> XML tags.",
    "Available APIs:\n{functions}\n\nWhen the user asks for something an API can do, output only the API "
    "call in the format func_name(param=value, ...).",
    "You are an assistant with tools. Tools are described in JSON schema below. Reply with a tool call "
    "when one is needed.\n\nTOOLS:\n{functions}",
]
TOOLS_IN_USER = [
    "{question}\n\nAvailable tools:\n{functions}\n\nReturn only the function call.",
    "Given the following functions, please respond with a JSON for a function call with its proper "
    "arguments that best answers the given prompt.\n\n{functions}\n\nQuestion: {question}",
    "Functions:\n{functions}\n\nUser request: {question}\nWhich function should be called, and with what "
    "arguments? Answer in JSON.",
    "{functions}\n\nUsing the function definitions above, produce the call(s) needed for: {question}",
]

# --- agentic: system prompts of agent scaffolds ({tools} tool list, {names} tool names) ----------
AGENT_SYSTEMS = [
    "You are an autonomous software engineering agent working in a repository at /workspace. Use the "
    "provided tools to read files, run commands and edit code. Work step by step; after each tool call, "
    "inspect the result before deciding the next action. When the task is complete, call finish.",
    "You are a web browsing agent. You can search, open URLs, click, type and scroll. Accomplish the "
    "user's goal on the website, thinking before each action and checking the page after it.",
    "Answer the following questions as best you can. You have access to the following tools:\n\n{tools}"
    "\n\nUse the following format:\n\nQuestion: the input question you must answer\nThought: you should "
    "always think about what to do\nAction: the action to take, should be one of [{names}]\nAction "
    "Input: the input to the action\nObservation: the result of the action\n... (this Thought/Action/"
    "Action Input/Observation can repeat N times)\nThought: I now know the final answer\nFinal Answer: "
    "the final answer to the original input question",
    "You are a computer-use agent controlling a desktop through screenshots and mouse and keyboard "
    "actions. Take one action at a time and verify its effect on the next screenshot.",
    "You are a coding assistant running in the user's terminal. You can execute shell commands, read "
    "and write files and search the codebase. Make minimal, correct changes, run the tests, and "
    "summarise what you changed.",
    "You are a research agent. Break the question into sub-questions, search the web for each, read "
    "the sources, keep notes, and finish with a report that cites its sources.",
    "You are an operations agent for customer support. Use the CRM tools to look up the customer, issue "
    "refunds within policy, update the ticket and escalate when policy does not cover the case.",
    "You are a data engineering agent with access to a SQL warehouse and a Python sandbox. Plan the "
    "task, run queries and scripts with the tools, check intermediate results, and stop when the "
    "deliverable is produced.",
    "You are a planning agent that coordinates sub-agents. Decompose the objective into tasks, "
    "dispatch each to a sub-agent with the delegate tool, review their results and iterate until done.",
    "You are an autonomous agent. Tools: {names}. Keep a scratchpad of your plan. Never ask the user "
    "for confirmation; keep calling tools until the goal is achieved, then give the final answer.",
    "You are a DevOps agent. You can run kubectl, terraform and shell commands through the tools. "
    "Diagnose the incident, apply a fix, verify it, and write a short post-mortem.",
    "You are an assistant that completes multi-step tasks in the user's email, calendar and documents "
    "using the tools. Confirm each step's result before moving on.",
]
AGENT_TOOL_NAMES = [
    "bash", "read_file", "write_file", "edit_file", "search_code", "run_tests", "web_search",
    "open_url", "click", "type_text", "scroll", "screenshot", "python", "sql_query", "list_dir",
    "git_diff", "create_ticket", "lookup_customer", "issue_refund", "send_email", "calendar_create",
    "delegate", "finish", "final_answer", "kubectl", "terraform_apply",
]
# Task phrasings an agent loop starts from; {task} is a real task text from another source.
AGENT_TASKS = [
    "{task}",
    "Task: {task}",
    "{task}\n\nWork autonomously until it is done.",
    "Please complete this in the repo and run the tests: {task}",
    "Goal: {task}\nConstraints: do not ask me questions; use the tools.",
    "New task for you. {task} Report back when finished.",
    "<task>\n{task}\n</task>",
    "Here's what I need: {task} Use whatever tools you need.",
]
# What the user says later in an agent loop, after tools have run.
AGENT_FOLLOW_UPS = [
    "The tests still fail with an ImportError, please fix it.",
    "continue",
    "Looks good. Now also update the README and open a pull request.",
    "That command timed out. Try a different approach.",
    "You edited the wrong file; revert that and apply the change in src/ instead.",
    "Keep going until all the checks pass.",
    "The page didn't load. Retry and then fill in the form.",
    "Great, now deploy it to staging and verify the health endpoint.",
]

# --- judge_grading: rubric prompts in the style of common LLM-as-judge setups --------------------
# {instruction}, {output_1}, {output_2} as in the alpaca_eval templates.
JUDGES = [
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI "
    "assistant to the user question displayed below. Consider helpfulness, relevance, accuracy, depth "
    "and level of detail. Begin with a short explanation, then rate the response on a scale of 1 to 10 "
    'in the format "[[rating]]".\n\n[Question]\n{instruction}\n\n[The Start of Assistant\'s Answer]\n'
    "{output_1}\n[The End of Assistant's Answer]",
    'Score the following answer from 0 to 5 for factual accuracy and helpfulness. Return JSON {{"score": '
    'int, "reason": str}}.\nQuestion: {instruction}\nAnswer: {output_1}',
    "Compare Response A and Response B to the prompt below. Which one is better? Answer with 'A' or 'B' "
    "and a one-sentence justification.\n\nPrompt: {instruction}\n\nResponse A: {output_1}\n\nResponse B: "
    "{output_2}",
    "You are grading an answer against a reference.\nQuestion: {instruction}\nReference answer: "
    "{output_2}\nCandidate answer: {output_1}\nIs the candidate correct? Reply CORRECT or INCORRECT, then "
    "explain briefly.",
    "Evaluate this model output for harmlessness, honesty and helpfulness, each on a 1-7 Likert scale."
    "\n\nUser: {instruction}\nModel: {output_1}",
    "You are a reward model. Given the conversation, output a single quality score between 0 and 1."
    "\n\nHuman: {instruction}\n\nAssistant: {output_1}",
    "Does the response follow every instruction in the prompt? List each instruction, mark it satisfied "
    "or unsatisfied, then give an overall PASS or FAIL.\n\nPrompt: {instruction}\nResponse: {output_1}",
    "Rank the following responses from best to worst and explain the ranking.\n\nInstruction: "
    "{instruction}\n\n(1) {output_1}\n\n(2) {output_2}",
    "[Task] {instruction}\n[Response] {output_1}\n\nCritique the response: list its factual errors and "
    "omissions, then assign a grade from A to F.",
    "As an expert annotator, label whether the assistant's reply is preferred over the baseline reply."
    "\nQuery: {instruction}\nBaseline: {output_2}\nAssistant: {output_1}\nOutput 'preferred', "
    "'dispreferred' or 'tie'.",
    "Check the following answer for hallucinations. For each claim, say whether it is supported. Then "
    "give a faithfulness score out of 10.\n\nQuestion: {instruction}\n\nAnswer: {output_1}",
    "I'm building a preference dataset. Which of these two completions is more helpful and harmless?"
    "\n\nPROMPT:\n{instruction}\n\nCOMPLETION 1:\n{output_1}\n\nCOMPLETION 2:\n{output_2}\n\nReply with "
    "1 or 2.",
]

# --- reasoning_math: how benchmark runners and users wrap a problem -------------------------------
MATH = [
    "{problem}",
    "Solve the following problem. Make sure to show your work before giving the final answer.\n\n{problem}",
    "{problem}\n\nLet's think step by step.",
    "Question: {problem}\nAnswer: Let's think step by step.",
    "{problem}\nPlease reason step by step, and put your final answer within \\boxed{{}}.",
    "Solve this competition problem. Give a rigorous derivation, then state the final answer.\n\n{problem}",
    "Problem:\n{problem}\n\nSolution:",
    "You are a math olympiad coach. Solve: {problem}",
    "Can you help me with this homework question? {problem}",
    "{problem} Show all the steps.",
    "Think carefully and answer. {problem}\nFinal answer format: 'The answer is X'.",
    "Here's a tricky one: {problem}",
    "Prove or disprove, with full justification: {problem}",
    "### Problem\n{problem}\n\n### Instructions\nReason carefully before answering. End with "
    "'Final answer:'.",
    "I keep getting a different answer from the book. {problem} What is the correct result?",
    "{problem}\nA) see below B) none of the above\nExplain your reasoning, then answer.",
]

# School-style word problems, for the everyday maths that competition sets lack. Numbers and names are
# drawn at random: {name}, {other}, {item}, {a}, {b}, {c} (small integers), {p} (a percentage).
WORD_PROBLEMS = [
    "{name} buys {a} packs of {item} with {b} in each pack and gives {c} away. How many are left?",
    "A train travels {a}0 km in {b} hours. What is its average speed in km/h?",
    "{name} is {a} years older than {other}. In {b} years their ages will add up to {c}0. How old is "
    "{other} now?",
    "A shirt costs ${a}0 and is on sale for {p}% off. What is the sale price?",
    "If {a} workers build a wall in {b} days, how long would {c} workers take at the same rate?",
    "A rectangle has a perimeter of {a}{b} cm and its length is {c} cm more than its width. Find its area.",
    "{name} saves ${a} a week. How many weeks until {name} can afford a bike that costs ${b}{c}0?",
    "A tank fills at {a} litres per minute and drains at {b} litres per minute. How long to fill "
    "{c}00 litres?",
    "The average of {a} numbers is {b}{c}. One number is removed and the average becomes {b}. What was "
    "the removed number?",
    "{name} read {a} pages on Monday and twice as many on Tuesday. The book has {b}{c}0 pages. How many "
    "pages are left?",
    "A bag has {a} red and {b} blue marbles. Two are drawn without replacement. What is the probability "
    "both are red?",
    "How many ways can {a} people sit around a round table?",
    "{name} invests ${a}000 at {p}% interest compounded yearly. How much is it worth after {b} years?",
    "A recipe needs {a} cups of flour for {b} cookies. How much flour for {c}0 cookies?",
    "Two cars leave the same town in opposite directions at {a}0 km/h and {b}0 km/h. When are they "
    "{c}00 km apart?",
    "Solve for x: {a}x + {b} = {c}{a}.",
    "{name} had {a}{b} {item}. {other} took a third of them and then gave back {c}. How many does {name} "
    "have now?",
    "A store sold {a}{c} {item} on Friday, {p}% more on Saturday. How many on both days together?",
    "What is the sum of the interior angles of a polygon with {a}{b} sides?",
    "The ratio of boys to girls in a class is {a}:{b}. There are {c}{a} students. How many are girls?",
    "A ladder {a}{b} feet long leans against a wall with its foot {a} feet from the wall. How high up "
    "the wall does it reach?",
    "{name} runs {a} laps of a {b}00 m track every day. How many kilometres is that in {c} weeks?",
    "If 3 pencils cost ${a}.{b}0, how much do {c}{a} pencils cost?",
    "Find the next number in the sequence {a}, {b}{a}, {c}{b}, ... and explain the pattern.",
]
WORD_PROBLEM_FILL = {
    "name": ["Natalia", "James", "Aisha", "Wei", "Carlos", "Priya", "Tom", "Fatima", "Lena", "Kofi"],
    "other": ["her brother", "his sister", "a friend", "Maria", "Ben", "their cousin"],
    "item": ["apples", "stickers", "cookies", "pencils", "marbles", "cards", "eggs", "books"],
}

# --- coding: wrappers for HumanEval prompts ({prompt}) and code snippets ({code}, {lang}) ----------
CODE_COMPLETION = [
    "Complete the following Python function:\n\n```python\n{prompt}```",
    "{prompt}",
    "Write the body of this function. Return only code.\n{prompt}",
    "Implement the function below and include a few unit tests.\n```python\n{prompt}\n```",
    "Here is a function signature with a docstring. Provide an efficient implementation and state its "
    "complexity.\n\n{prompt}",
    "Finish this code so that the doctests pass:\n{prompt}",
    "def-level task. Fill in the implementation:\n\n{prompt}\n# your code here",
    "You are an expert Python programmer. Write code that satisfies this specification:\n{prompt}",
]
CODE_SNIPPET = [
    "Explain what this {lang} code does:\n\n```\n{code}\n```",
    "Find the bug in this {lang} snippet and fix it:\n{code}",
    "Convert this {lang} code to Python:\n```\n{code}\n```",
    "Add comments to the following code:\n\n{code}",
    "Write unit tests for this:\n```{lang}\n{code}\n```",
    "Why does this give an error?\n\n{code}",
    "Refactor this to be more idiomatic {lang}:\n{code}",
    "Can you optimise this code?\n```\n{code}\n```",
    "Here's my code:\n```{lang}\n{code}\n```\nIt works on small inputs but hangs on large ones. What's wrong?",
    "{code}\n\nI get a TypeError on the second call. Why?",
    "Review this pull request diff and point out problems:\n\n{code}",
    "Rewrite this {lang} function with type hints and a docstring.\n\n{code}",
]

# Programming questions in the words developers use; {tech} from TECHNOLOGIES, {other} another one.
PROGRAMMING_QUESTIONS = [
    "How do I set up authentication in {tech}?",
    "i have a project built with {tech} and i want to add {other}, how should i structure it",
    "Why does my {tech} app freeze after login? It works locally but not in production.",
    "What's the difference between {tech} and {other}, and when should I use each?",
    "{tech} routing",
    "Can you give me an example of connecting {tech} to {other}?",
    "I'm getting a permissions error when deploying with {tech}. How do I fix it?",
    "write a script that reads messages from {tech} and saves them to {other}",
    "best practices for structuring a large {tech} codebase?",
    "How do I migrate this from {other} to {tech}?",
    "explain the basic terms used in {tech} like you would to a junior developer",
    "make a todo list app with {tech}",
    "Is {tech} still a good choice for a new project in 2026?",
    "how to debug memory leaks in {tech}",
    "Give me a config file for {tech} that works with {other}.",
    "my {tech} build fails with 'module not found' after upgrading, what should I check?",
    "Can {tech} handle 10k requests per second? How would I scale it?",
    "create a REST API with {tech} and {other} with CRUD endpoints",
    "what is the recommended way to write tests for {tech} components",
    "How do I add pagination with previous/next buttons using {tech}?",
]
TECHNOLOGIES = [
    "React", "Angular", "Vue", "Next.js", "Svelte", "Laravel", "Django", "Flask", "FastAPI", "Rails",
    "Spring Boot", "ASP.NET Core", "Express", "NestJS", "Flutter", "SwiftUI", "Jetpack Compose",
    "React Native", "Docker", "Kubernetes", "Terraform", "Ansible", "AWS Lambda", "AWS SQS", "S3",
    "Azure Functions", "Google Cloud Run", "nginx", "Apache Kafka", "RabbitMQ", "Redis", "PostgreSQL",
    "MySQL", "MongoDB", "SQLite", "Elasticsearch", "GraphQL", "gRPC", "WebSockets", "OAuth2",
    "Prometheus", "Grafana", "GitHub Actions", "Jenkins", "GitLab CI", "pandas", "NumPy", "PyTorch",
    "TensorFlow", "scikit-learn", "Spark", "Airflow", "dbt", "Power Query", "Excel VBA", "Power BI",
    "Tampermonkey", "Chrome extensions", "Electron", "Unity", "Godot", "Unreal Engine", "Arduino",
    "Raspberry Pi", "OpenCV", "Selenium", "Playwright", "Cypress", "Jest", "pytest", "JUnit", "Maven",
    "Gradle", "npm", "webpack", "Vite", "TypeScript", "Rust", "Go", "Kotlin", "C++", "C#", "Haskell",
    "Elixir", "Scala", "bash", "PowerShell", "Git", "Linux cron", "systemd", "Firebase", "Supabase",
    "Stripe API", "Twilio", "Slack API", "OpenAPI", "JSON Schema", "Tailwind CSS", "Bootstrap",
    "WordPress", "Shopify Liquid", "Solidity", "Hardhat",
]

# Generic system prompts some clients send with every request, whatever the capability.
GENERIC_SYSTEMS = [
    "You are a helpful assistant.",
    "You are ChatGPT, a large language model. Answer as concisely as possible.",
    "You are a friendly and knowledgeable AI assistant. Be accurate and cite sources when you can.",
    "Respond in markdown.",
    "You are an AI assistant. The user may ask you anything. Think carefully and answer helpfully.",
    "Always answer in the same language as the user.",
    "You are a helpful, respectful and honest assistant.",
    "Current date: 2026-03-01. Knowledge cutoff: 2025-06.",
]
