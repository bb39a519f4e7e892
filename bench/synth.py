"""Synthetic medical-o1 records in the published format, for the demo files and benchmarks.

Records are composed from independent parts (patient, presentation, ask, reasoning steps) so
that no two questions are near-duplicates, and they span the three risk levels. Deterministic:
the same ``n`` and ``seed`` give the same bytes.

    python -m bench.synth --samples data/samples     # the shipped demo files
    python -m bench.synth --big /tmp/medical_o1_sft.json --n 20000
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

# (presentation, diagnosis / answer, short ground truth, risk hint) — English
EN_CASES = [
    ("crushing chest pain radiating to the left arm and jaw for the past 40 minutes, with sweating", "an acute ST-elevation myocardial infarction; call emergency services, give aspirin if not allergic, and arrange immediate reperfusion", "Acute myocardial infarction", "high"),
    ("sudden weakness of the right arm, facial droop and slurred speech that began an hour ago", "an acute ischaemic stroke until proven otherwise; urgent non-contrast CT to decide on thrombolysis within the time window", "Acute ischemic stroke", "high"),
    ("swelling of the lips and throat, wheezing and hives within minutes of eating peanuts", "anaphylaxis; give intramuscular adrenaline 0.5 mg into the thigh immediately and call for emergency help", "Anaphylaxis", "high"),
    ("taken about thirty paracetamol tablets six hours ago after an argument, and now feels nauseated", "a potentially fatal paracetamol overdose; measure a 4-hour-or-later level and start N-acetylcysteine without delay, and assess suicide risk", "N-acetylcysteine", "high"),
    ("been taking warfarin for atrial fibrillation and was just prescribed clarithromycin for a chest infection", "a dangerous drug interaction: clarithromycin inhibits warfarin metabolism and raises the INR, so check the INR early or choose another antibiotic", "Increased INR and bleeding risk", "high"),
    ("vomited bright red blood twice this morning and feels light-headed when standing", "an upper gastrointestinal bleed with haemodynamic compromise; needs resuscitation and urgent endoscopy", "Upper gastrointestinal bleeding", "high"),
    ("wants to stop her lamotrigine because she feels well and has had no seizures for a year", "she should not stop it abruptly; withdrawal can provoke seizures, so any reduction must be planned slowly with her neurologist", "Do not stop abruptly; taper under supervision", "high"),
    ("told his family he has been thinking about ending his life and has been giving away his belongings", "a high suicide risk; he needs same-day urgent psychiatric assessment, removal of means and not to be left alone", "Urgent psychiatric assessment", "high"),
    ("at 32 weeks of pregnancy, a severe headache, blurred vision and a blood pressure of 168/112 mmHg", "pre-eclampsia with severe features; admit, control blood pressure, give magnesium sulfate and plan delivery", "Severe pre-eclampsia", "high"),
    ("a 4-month-old infant with a fever of 39.2°C, poor feeding and a bulging fontanelle", "suspected bacterial meningitis in an infant; urgent blood cultures, lumbar puncture when safe and empirical intravenous antibiotics", "Bacterial meningitis", "high"),
    ("been found drowsy next to an open bottle of her grandmother's amitriptyline, with a wide QRS on the ECG", "tricyclic antidepressant poisoning; give intravenous sodium bicarbonate and monitor in a resuscitation area", "Sodium bicarbonate", "high"),
    ("breathlessness at rest, inability to finish sentences and a peak flow of 30% of predicted", "a life-threatening asthma attack; give oxygen, nebulised salbutamol and ipratropium, and systemic steroids now", "Acute severe asthma", "high"),
    ("collapsed and was unresponsive for a minute while exercising, with a family history of sudden death", "syncope on exertion is a red flag for structural heart disease such as hypertrophic cardiomyopathy; needs urgent cardiology work-up", "Hypertrophic cardiomyopathy", "high"),
    ("been breastfeeding and asks whether she can take codeine for dental pain", "codeine is not recommended while breastfeeding because ultra-rapid metabolisers pass morphine to the infant; prefer paracetamol or ibuprofen", "Avoid codeine; use paracetamol or ibuprofen", "high"),
    ("a dry cough for three weeks after a cold, without fever or weight loss", "post-viral cough is most likely; review for red flags and reassure, with a chest X-ray if it lasts beyond eight weeks", "Post-infectious cough", "medium"),
    ("morning stiffness of both hands lasting over an hour and swollen knuckles for two months", "inflammatory arthritis, most likely rheumatoid arthritis; check rheumatoid factor, anti-CCP and refer to rheumatology", "Rheumatoid arthritis", "medium"),
    ("two fasting glucose results of 7.4 and 7.8 mmol/L on routine testing", "type 2 diabetes mellitus by the fasting criteria; start lifestyle measures and consider metformin", "Type 2 diabetes mellitus", "medium"),
    ("itchy, well-demarcated plaques with silvery scale on both elbows and the scalp", "plaque psoriasis; topical corticosteroid with a vitamin D analogue is first-line", "Plaque psoriasis", "medium"),
    ("burning pain behind the breastbone after large meals and when lying flat", "gastro-oesophageal reflux disease; lifestyle changes and a trial of a proton pump inhibitor", "Gastroesophageal reflux disease", "medium"),
    ("tiredness, weight gain, constipation and feeling cold, with a raised TSH", "primary hypothyroidism; start levothyroxine and recheck TSH in six to eight weeks", "Hypothyroidism", "medium"),
    ("painful urination and frequency for two days without fever or flank pain", "an uncomplicated lower urinary tract infection; a short course of nitrofurantoin is appropriate", "Uncomplicated cystitis", "medium"),
    ("recurrent one-sided throbbing headaches with nausea and sensitivity to light", "migraine without aura; simple analgesics or a triptan for attacks and a headache diary", "Migraine", "medium"),
    ("a painless lump in the neck that has grown slowly over six months", "a persistent neck lump in an adult needs ultrasound and fine-needle aspiration to exclude malignancy", "Ultrasound and fine-needle aspiration", "medium"),
    ("low back pain after lifting boxes, without numbness, weakness or bladder symptoms", "non-specific mechanical low back pain; stay active, simple analgesia and review if red flags appear", "Mechanical low back pain", "medium"),
]
EN_GENERAL = [
    ("Who discovered penicillin, and how did the discovery change the treatment of infections?", "Alexander Fleming noticed in 1928 that a Penicillium mould killed staphylococci; Florey and Chain turned it into a usable drug in the 1940s, opening the antibiotic era.", "Alexander Fleming"),
    ("How did Wilhelm Röntgen's discovery of X-rays in 1895 shape the field of medical imaging?", "Röntgen's X-rays let doctors see bones and foreign bodies without surgery; radiology became a specialty within years and later led to CT.", "Radiology"),
    ("What does a balanced diet for a healthy adult look like in everyday terms?", "Plenty of vegetables and fruit, whole grains, some protein from fish, legumes or lean meat, little added sugar and salt, and water as the main drink.", "Vegetables, whole grains, lean protein"),
    ("How many minutes of physical activity a week are recommended for adults to stay healthy?", "At least 150 minutes of moderate activity, or 75 minutes of vigorous activity, each week, plus muscle strengthening twice a week.", "150 minutes"),
    ("Why was Edward Jenner's work with cowpox important for public health?", "Jenner showed in 1796 that inoculation with cowpox protected against smallpox, the basis of vaccination and, eventually, smallpox eradication.", "Smallpox vaccination"),
    ("What is the purpose of the Hippocratic Oath in the history of medicine?", "It set out early ethical duties of physicians — to help, to avoid harm and to keep confidences — and still shapes professional codes.", "Medical ethics"),
    ("How much sleep do most adults need each night, and why does regular sleep matter?", "Most adults need seven to nine hours; regular sleep supports memory, mood, immunity and metabolic health.", "Seven to nine hours"),
    ("What role did John Snow's study of the Broad Street pump play in epidemiology?", "In 1854 Snow mapped cholera cases around a London water pump and showed water-borne spread, a founding moment of epidemiology.", "Cholera is water-borne"),
    ("What are simple ways to keep teeth and gums healthy over a lifetime?", "Brush twice daily with fluoride toothpaste, clean between teeth, limit sugary snacks and see a dentist regularly.", "Fluoride toothpaste and regular dental visits"),
    ("How did the invention of the stethoscope by Laennec change physical examination?", "Laennec's 1816 stethoscope made auscultation of the heart and lungs practical and precise, founding modern chest examination.", "Auscultation"),
]
EN_GENERAL += [
    ("Why is regular hand washing with soap considered one of the most effective public-health measures?", "Hand washing removes and inactivates many pathogens and cuts diarrhoeal and respiratory infections; Semmelweis first showed its value in 1847.", "Hand hygiene"),
    ("What are sensible everyday habits for protecting skin from the sun?", "Seek shade at midday, wear a hat and clothing, and use broad-spectrum sunscreen of SPF 30 or more, reapplied every two hours outdoors.", "Shade, clothing and SPF 30+ sunscreen"),
    ("How can office workers reduce neck and back strain from long hours at a desk?", "Set the screen at eye level, support the lower back, keep feet flat, and stand up and move every 30 to 60 minutes.", "Ergonomic set-up and regular breaks"),
    ("What is the story behind the development of insulin as a treatment?", "Banting and Best extracted insulin in Toronto in 1921; by 1922 it was saving children with type 1 diabetes, and Banting and Macleod received the Nobel Prize.", "Banting and Best, 1921"),
    ("What everyday strategies help manage ordinary work stress?", "Regular exercise, enough sleep, breaking tasks down, time outdoors, talking to friends and simple breathing exercises all help.", "Exercise, sleep and social support"),
    ("How did Florence Nightingale influence hospital care and nursing?", "Nightingale's work in the Crimean War and her statistics on sanitation reformed hospital hygiene and founded professional nursing.", "Sanitation and professional nursing"),
]
EN_GENERAL_FRAMES = [
    "{q}", "A student asks: {q}", "For a health-education class: {q}", "In plain words, {q0}",
    "A curious visitor at a science museum wonders: {q}", "Quick question from a parent at a school talk: {q}",
    "Preparing a short radio segment on health, a journalist asks: {q}", "Out of general interest, {q0}",
]
EN_GENERAL_TAILS = ["", " Please keep it brief.", " A short summary is enough.", " Explain it for a secondary-school audience.", " Mention one key fact to remember."]
EN_PATIENTS = [
    "A {age}-year-old man", "A {age}-year-old woman", "A {age}-year-old retired teacher",
    "A {age}-year-old construction worker", "A {age}-year-old office worker", "A {age}-year-old farmer",
    "A {age}-year-old university student", "A {age}-year-old shop owner", "A {age}-year-old nurse",
]
EN_SETTINGS = [
    "comes to the clinic with", "is brought to the emergency department with", "calls the telehealth line describing",
    "presents to her general practitioner with", "is seen on a home visit for", "asks a pharmacist about",
]
EN_ASKS = [
    "What is the most likely diagnosis, and what should be done first?",
    "How should this be managed, step by step?",
    "What is the most important next step, and why?",
    "Which diagnosis fits best, and what would you tell the patient?",
]
EN_OPENERS = [
    "Alright, let's think this through.", "Okay, so let's start with what we know.",
    "Let me work through this carefully.", "Hmm, first I want to pin down the key finding.",
]

ZH_CASES = [
    ("胸口压榨样疼痛四十分钟，向左臂放射，伴大汗", "急性心肌梗死，应立即拨打120，无过敏可嚼服阿司匹林，尽快行再灌注治疗", "急性心肌梗死", "high"),
    ("一小时前突然右侧肢体无力、口角歪斜、说话含糊", "高度怀疑急性缺血性脑卒中，需立即到有卒中中心的医院做头颅CT，争取溶栓时间窗", "急性缺血性脑卒中", "high"),
    ("吃了花生后几分钟内嘴唇和喉咙肿胀、喘鸣、全身荨麻疹", "过敏性休克，应立即大腿外侧肌注肾上腺素并呼叫急救", "过敏性休克", "high"),
    ("与家人争吵后吞服了三十多片对乙酰氨基酚，六小时后恶心", "对乙酰氨基酚过量可致肝衰竭，应立即就医测血药浓度并尽早使用N-乙酰半胱氨酸，同时评估自杀风险", "N-乙酰半胱氨酸", "high"),
    ("长期服用华法林，医生刚开了克拉霉素治疗肺部感染", "克拉霉素会抑制华法林代谢使INR升高，出血风险增加，应尽早复查INR或换用其他抗生素", "INR升高、出血风险增加", "high"),
    ("今早呕鲜血两次，站起来就头晕", "上消化道出血伴循环不稳定，需要立即急诊补液并尽快做胃镜", "上消化道出血", "high"),
    ("癫痫一年没发作了，想自己把拉莫三嗪停掉", "不能自行突然停药，骤停可诱发癫痫发作，减药须在神经科医生指导下缓慢进行", "不可骤停，需在医生指导下减量", "high"),
    ("最近总说不想活了，还把自己的东西送给别人", "自杀风险很高，需要当天紧急精神科评估，移除危险物品，不要让其独处", "紧急精神科评估", "high"),
    ("怀孕32周，剧烈头痛、视物模糊，血压168/112毫米汞柱", "重度子痫前期，应立即住院降压、使用硫酸镁预防抽搐并评估终止妊娠时机", "重度子痫前期", "high"),
    ("4个月大的婴儿发烧39.2度，吃奶差，前囟门鼓起", "婴儿细菌性脑膜炎可能性大，需立即就医，抽血培养、腰穿并经验性静脉抗生素治疗", "细菌性脑膜炎", "high"),
    ("孩子误服了家里的农药，口吐白沫、瞳孔缩小", "有机磷农药中毒，立即送医，脱去污染衣物，使用阿托品和解磷定", "有机磷中毒", "high"),
    ("哺乳期牙痛，想知道能不能吃含可待因的止痛药", "哺乳期不建议使用可待因，超快代谢者会让婴儿吸收吗啡，可选对乙酰氨基酚或布洛芬", "避免可待因，选用对乙酰氨基酚或布洛芬", "high"),
    ("感冒后干咳三周，不发烧，体重没有下降", "多为感染后咳嗽，排除危险信号后观察，若超过八周需拍胸片", "感染后咳嗽", "medium"),
    ("两个月来双手晨僵超过一小时，指关节肿胀", "考虑类风湿关节炎，查类风湿因子和抗CCP抗体，转诊风湿免疫科", "类风湿关节炎", "medium"),
    ("体检两次空腹血糖分别是7.4和7.8毫摩尔每升", "符合2型糖尿病诊断，先生活方式干预，可考虑二甲双胍", "2型糖尿病", "medium"),
    ("肘部和头皮有边界清楚、覆盖银白色鳞屑的瘙痒斑块", "斑块型银屑病，一线用外用糖皮质激素联合维生素D类似物", "斑块型银屑病", "medium"),
    ("饭后和平躺时胸骨后烧灼感", "胃食管反流病，调整生活方式并试用质子泵抑制剂", "胃食管反流病", "medium"),
    ("乏力、怕冷、便秘、体重增加，TSH升高", "原发性甲状腺功能减退，开始左甲状腺素并在六到八周后复查TSH", "甲状腺功能减退", "medium"),
    ("尿频尿痛两天，没有发热和腰痛", "单纯性下尿路感染，可短程口服呋喃妥因", "单纯性膀胱炎", "medium"),
    ("反复一侧搏动性头痛，伴恶心、怕光", "无先兆偏头痛，发作时用普通止痛药或曲普坦类，记录头痛日记", "偏头痛", "medium"),
    ("脖子上有个无痛肿块，半年来慢慢长大", "成人持续颈部肿块需做超声和细针穿刺排除肿瘤", "超声及细针穿刺", "medium"),
    ("搬箱子后腰痛，没有麻木无力，大小便正常", "非特异性机械性腰痛，保持活动，必要时止痛，出现危险信号再复诊", "机械性腰痛", "medium"),
]
ZH_GENERAL = [
    ("青霉素是谁发现的？它对感染治疗有什么影响？", "1928年弗莱明发现青霉菌能杀死葡萄球菌，弗洛里和钱恩在20世纪40年代将其制成药物，开启了抗生素时代。", "弗莱明"),
    ("伦琴在1895年发现X射线，对医学影像学的发展有什么意义？", "X射线让医生无需手术就能看到骨骼和异物，放射学很快成为独立学科，并发展出后来的CT等技术。", "放射学"),
    ("健康成年人日常饮食怎样才算均衡？", "多吃蔬菜水果和全谷物，适量鱼、豆类和瘦肉，少盐少糖，以白开水为主要饮品。", "蔬果、全谷物、适量蛋白"),
    ("成年人每周建议做多少运动才能保持健康？", "每周至少150分钟中等强度运动或75分钟高强度运动，另外每周两次力量训练。", "150分钟"),
    ("华佗在中国医学史上有哪些贡献？", "华佗被誉为外科鼻祖，相传使用麻沸散进行手术，并创编五禽戏强身健体。", "麻沸散与五禽戏"),
    ("《本草纲目》是一部什么样的著作？", "明代李时珍历时近三十年编成，收载药物一千八百余种，是中国古代药物学的集大成之作。", "李时珍"),
    ("成年人每天睡多久比较合适？规律作息有什么好处？", "大多数成年人需要七到九小时，规律睡眠有助于记忆、情绪、免疫和代谢健康。", "七到九小时"),
    ("平时怎样保护牙齿和牙龈健康？", "每天两次用含氟牙膏刷牙，使用牙线，少吃甜食，定期看牙医。", "含氟牙膏与定期检查"),
    ("屠呦呦发现青蒿素的意义是什么？", "屠呦呦从古籍中获得启发提取青蒿素，大幅降低了疟疾死亡率，并因此获得2015年诺贝尔奖。", "青蒿素治疗疟疾"),
    ("张仲景的《伤寒杂病论》为什么重要？", "东汉张仲景总结了辨证论治的方法，后世分为《伤寒论》和《金匮要略》，奠定了中医临床基础。", "辨证论治"),
]
ZH_GENERAL += [
    ("为什么说勤洗手是最有效的公共卫生措施之一？", "用肥皂洗手能去除和灭活多种病原体，明显减少腹泻和呼吸道感染。", "手卫生"),
    ("日常生活中怎样做好防晒？", "中午尽量待在阴凉处，戴帽子穿长袖，使用SPF30以上的广谱防晒霜并每两小时补涂。", "遮阳、衣物和SPF30以上防晒霜"),
    ("长期伏案工作的人怎样减少颈肩腰背的劳损？", "屏幕与视线平齐，腰部有支撑，双脚平放，每隔半小时到一小时起身活动。", "调整工位并定时起身活动"),
    ("胰岛素是怎样被发现并用于治疗的？", "1921年班廷和贝斯特在多伦多提取出胰岛素，次年即用于挽救1型糖尿病儿童。", "班廷和贝斯特"),
    ("面对日常工作压力有哪些简单的调节方法？", "规律运动、保证睡眠、把任务分解、多到户外走走、和朋友倾诉以及做放松呼吸练习。", "运动、睡眠与社会支持"),
    ("南丁格尔对护理学的发展有什么贡献？", "南丁格尔在克里米亚战争中改善医院卫生，用统计数据推动改革，奠定了现代护理专业的基础。", "现代护理学的奠基"),
]
ZH_GENERAL_FRAMES = [
    "{q}", "有学生问：{q}", "健康教育课上的问题：{q}", "请通俗地讲一讲：{q}",
    "在科技馆参观时有观众好奇：{q}", "家长会上的科普问答：{q}", "做一期健康广播节目，记者想了解：{q}", "出于兴趣想问问，{q}",
]
ZH_GENERAL_TAILS = ["", "请简要回答。", "简单概括一下就好。", "请用中学生能听懂的话解释。", "最后提一个需要记住的要点。"]
ZH_PATIENTS = ["一位{age}岁的男性", "一位{age}岁的女性", "一位{age}岁的退休教师", "一位{age}岁的建筑工人", "一位{age}岁的公司职员", "一位{age}岁的农民", "一位{age}岁的大学生", "一位{age}岁的个体店主"]
ZH_SETTINGS = ["到门诊就诊，自述", "被家人送到急诊，表现为", "在线咨询，描述", "在社区医院就诊，主诉"]
ZH_ASKS = ["最可能的诊断是什么？首先应该怎么处理？", "应该如何一步步处理？", "下一步最重要的措施是什么？为什么？", "哪种诊断最符合？应该怎样向患者解释？"]
ZH_OPENERS = ["好的，我们先把已知情况梳理一下。", "嗯，先抓住最关键的表现。", "我来仔细分析一下。", "首先要判断是不是急症。"]


def _en_record(rng: random.Random, i: int) -> dict:
    if rng.random() < 0.25:
        q, a, gt = rng.choice(EN_GENERAL)
        q = rng.choice(EN_GENERAL_FRAMES).format(q=q, q0=q[0].lower() + q[1:]) + rng.choice(EN_GENERAL_TAILS)
        cot = f"{rng.choice(EN_OPENERS)} This is a general-knowledge question rather than a patient problem. {a.split(';')[0]}. Let me make sure I state the key fact clearly and add a little context."
        return {"Question": q, "Complex_CoT": cot, "Response": a, "_gt": gt}
    pres, ans, gt, _ = rng.choice(EN_CASES)
    who = rng.choice(EN_PATIENTS).format(age=rng.randint(18, 85))
    q = f"{who} {rng.choice(EN_SETTINGS)} {pres}. {rng.choice(EN_ASKS)}"
    cot = (
        f"{rng.choice(EN_OPENERS)} The patient has {pres}. "
        f"The pattern points towards {gt.lower()}, and I should weigh what else could look similar. "
        f"Given the age of {who.split('-')[0].split()[-1]} and the timing, the priority is safety first. "
        f"So the answer is {ans.split(';')[0]}."
    )
    return {"Question": q, "Complex_CoT": cot, "Response": f"This is most consistent with {ans}.", "_gt": gt}


def _zh_record(rng: random.Random, i: int) -> dict:
    if rng.random() < 0.25:
        q, a, gt = rng.choice(ZH_GENERAL)
        q = rng.choice(ZH_GENERAL_FRAMES).format(q=q) + rng.choice(ZH_GENERAL_TAILS)
        cot = f"{rng.choice(ZH_OPENERS)}这是一个医学常识或医学史问题，不涉及具体病人。{a.split('，')[0]}。我把关键事实讲清楚，再补充一点背景。"
        return {"Question": q, "Complex_CoT": cot, "Response": a, "_gt": gt}
    pres, ans, gt, _ = rng.choice(ZH_CASES)
    who = rng.choice(ZH_PATIENTS).format(age=rng.randint(18, 85))
    q = f"{who}{rng.choice(ZH_SETTINGS)}{pres}。{rng.choice(ZH_ASKS)}"
    cot = f"{rng.choice(ZH_OPENERS)}患者的情况是：{pres}。这些表现提示{gt}，还要想想有没有其他相似的疾病。安全第一，先处理危及生命的问题。所以结论是{ans.split('，')[0]}。"
    return {"Question": q, "Complex_CoT": cot, "Response": f"考虑为{ans}。", "_gt": gt}


def medical_o1_records(n: int, lang: str, seed: int = 0, verifiable: bool = False) -> list[dict]:
    """``n`` medical-o1 records (``lang`` 'en' or 'zh'); ``verifiable`` adds the demo file's extra fields."""
    rng = random.Random(f"{seed}-{lang}")
    make = _en_record if lang == "en" else _zh_record
    out = []
    for i in range(n):
        rec = make(rng, i)
        gt = rec.pop("_gt")
        if verifiable:
            rec = {"Open-ended Verifiable Question": rec["Question"], "Ground-True Answer": gt, **rec}
        out.append(rec)
    return out


def write_json_array(records: list[dict], path: Path) -> None:
    """The published layout: one array, 4-space indent, raw UTF-8, no final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=4), encoding="utf-8")


def write_samples(folder: Path) -> None:
    """The shipped demo files of medical-o1."""
    write_json_array(medical_o1_records(160, "en", seed=1, verifiable=True), folder / "medical_o1_sft.json")
    write_json_array(medical_o1_records(140, "zh", seed=2), folder / "medical_o1_sft_Chinese.json")


def main() -> None:
    """CLI: write the demo files or one big file."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, help="write the demo files into this folder")
    ap.add_argument("--big", type=Path, help="write one big medical_o1-format file here")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--lang", default="en")
    args = ap.parse_args()
    if args.samples:
        write_samples(args.samples)
    if args.big:
        write_json_array(medical_o1_records(args.n, args.lang, seed=7, verifiable=False), args.big)


if __name__ == "__main__":
    main()
