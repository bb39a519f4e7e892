"""Synthetic medical-o1 records in the published format, for the demo files and benchmarks.

Every record comes from one hand-written clinical case (or general-knowledge item) whose parts
belong together: the patient (age and sex the case allows: an infant case is an infant, a
pregnancy case a pregnant woman), the findings, a question of the kind the short ground truth
answers (a diagnosis question for a diagnosis, "which drug" for a drug, "which test" for a test,
…), a reasoning chain that names the case's own differential, and a response that starts with
the ground truth. English records also carry the MedQA-style multiple-choice item the real
HuatuoGPT-o1 demo file has (``question`` / ``options`` / ``answer_idx`` / ``answer``), with
hand-written distractors and a seeded position for the right option.

The demo files (``write_samples``) use every case once; the benchmark files cycle through the
cases with varied (but matching) patients, settings, histories and phrasings. Deterministic: the
same ``n`` and ``seed`` give the same bytes. Nothing here is copied from a real dataset.

    python -m bench.synth --samples data/samples     # the shipped demo files
    python -m bench.synth --big /tmp/medical_o1_sft.json --n 20000
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One clinical case. ``who``: man, woman, adult, old, child, infant, preg, breastfeeding.
    ``kind`` picks the question (diagnosis, drug, test, cause, …); ``ask`` overrides it with
    (open question, multiple-choice stem) when the ground truth needs its own question."""

    who: str
    risk: str
    findings: str
    kind: str
    truth: str
    distractors: tuple[str, ...]
    advice: str
    ask: tuple[str, str] | None = None


EN_CASES = [
    Case("man", "high", "crushing central chest pain for 40 minutes radiating to the jaw, with sweating and ST elevation in leads II, III and aVF", "dx",
         "Acute inferior myocardial infarction", ("Stable angina", "Acute pericarditis", "Gastro-oesophageal reflux disease"),
         "call for emergency reperfusion (primary PCI), give aspirin 300 mg and monitor for arrhythmias"),
    Case("old", "high", "sudden right arm weakness, right facial droop and slurred speech that began an hour ago; the capillary glucose is normal", "test",
         "Non-contrast CT of the head", ("Lumbar puncture", "MRI of the lumbar spine", "Carotid Doppler in six weeks"),
         "a CT excludes haemorrhage so that thrombolysis can be given within 4.5 hours of onset"),
    Case("adult", "high", "swelling of the lips and tongue, wheeze, widespread hives and a blood pressure of 80/50 mmHg minutes after eating peanuts", "drug",
         "Intramuscular adrenaline", ("Oral cetirizine", "Nebulised salbutamol alone", "Intravenous hydrocortisone alone"),
         "give 0.5 mg intramuscularly into the thigh now, repeat after 5 minutes if needed, lie the patient flat and call for help"),
    Case("adult", "high", "nausea six hours after swallowing about thirty 500 mg paracetamol tablets following an argument", "drug",
         "N-acetylcysteine", ("Naloxone", "Flumazenil", "Sodium bicarbonate"),
         "start it without waiting if the level is above the treatment line, check liver function and assess suicide risk"),
    Case("adult", "high", "drowsiness, pinpoint pupils and a respiratory rate of 6 per minute after injecting heroin", "drug",
         "Naloxone", ("Flumazenil", "Atropine", "N-acetylcysteine"),
         "support the airway and breathing and give naloxone in small repeated doses, watching for re-sedation"),
    Case("preg", "high", "a severe headache, blurred vision, a blood pressure of 168/112 mmHg and 3+ proteinuria at 34 weeks of pregnancy", "dx",
         "Pre-eclampsia with severe features", ("Migraine", "Tension-type headache", "Chronic hypertension"),
         "admit, lower the blood pressure, give magnesium sulfate to prevent eclampsia and plan delivery"),
    Case("infant", "high", "a fever of 39.2 °C, poor feeding, irritability and a bulging fontanelle", "dx",
         "Bacterial meningitis", ("Teething", "Viral upper respiratory infection", "Gastroenteritis"),
         "take blood cultures, perform a lumbar puncture when safe and start intravenous antibiotics without delay"),
    Case("adult", "high", "two episodes of vomiting bright red blood, black stools and a pulse of 118 after years of daily ibuprofen for back pain", "dx",
         "Bleeding peptic ulcer", ("Acute pancreatitis", "Gastro-oesophageal reflux disease", "Oesophageal candidiasis"),
         "resuscitate with fluids and blood as needed, stop the NSAID, give a proton pump inhibitor and arrange urgent endoscopy"),
    Case("child", "high", "known asthma, too breathless to finish sentences, an oxygen saturation of 91% and a peak flow of 30% of predicted despite the reliever inhaler", "dx",
         "Acute severe asthma", ("Croup", "Inhaled foreign body", "Panic attack"),
         "give oxygen, back-to-back nebulised salbutamol with ipratropium and oral steroids, and admit"),
    Case("adult", "high", "type 1 diabetes, vomiting, deep rapid breathing, a glucose of 28 mmol/L and blood ketones of 5 mmol/L", "dx",
         "Diabetic ketoacidosis", ("Hyperosmolar hyperglycaemic state", "Gastroenteritis", "Hypoglycaemia"),
         "give intravenous fluids, a fixed-rate insulin infusion and potassium, with hourly monitoring"),
    Case("adult", "high", "agitation, a temperature of 38.9 °C, clonus and diarrhoea two days after tramadol was added to sertraline", "dx",
         "Serotonin syndrome", ("Neuroleptic malignant syndrome", "Malignant hyperthermia", "Anticholinergic toxicity"),
         "stop both drugs, cool and sedate with a benzodiazepine, and consider cyproheptadine"),
    Case("adult", "high", "a coarse tremor, unsteady gait and confusion a week after starting ibuprofen while taking lithium for bipolar disorder", "cause",
         "Lithium toxicity", ("Parkinson's disease", "Alcohol withdrawal", "Hypoglycaemia"),
         "NSAIDs reduce lithium clearance: stop both, check the lithium level and kidney function, and give fluids"),
    Case("woman", "high", "a period ten days late, sudden left lower abdominal pain, light vaginal bleeding, dizziness and a positive pregnancy test", "dx",
         "Ruptured ectopic pregnancy", ("Threatened miscarriage", "Urinary tract infection", "Acute appendicitis"),
         "this is a surgical emergency: resuscitate, cross-match blood and arrange urgent laparoscopy"),
    Case("adult", "medium", "pain that started around the umbilicus and moved to the right iliac fossa, a fever of 38 °C and pain when walking", "dx",
         "Acute appendicitis", ("Renal colic", "Gastroenteritis", "Mesenteric adenitis"),
         "keep nil by mouth, give analgesia and refer to the surgeons for appendicectomy"),
    Case("old", "high", "a fall in the bathroom, inability to stand and a right leg that is shortened and externally rotated", "dx",
         "Fractured neck of femur", ("Hip osteoarthritis flare", "Lumbar disc prolapse", "Knee sprain"),
         "give analgesia, X-ray the hip and arrange surgery within 36 hours"),
    Case("adult", "medium", "fatigue, cold intolerance, weight gain and constipation, with a TSH of 12 mU/L and a low free T4", "drug",
         "Levothyroxine", ("Carbimazole", "Propranolol", "Radioactive iodine"),
         "start a low dose if older or with heart disease and recheck TSH after six to eight weeks"),
    Case("adult", "medium", "two fasting glucose results of 7.4 and 7.8 mmol/L, a BMI of 33 and normal kidney function", "drug",
         "Metformin", ("Insulin glargine", "Orlistat", "Pioglitazone"),
         "combine it with diet and activity advice and check HbA1c after three months"),
    Case("adult", "medium", "burning epigastric pain that improves with meals and a positive urea breath test", "dx",
         "Duodenal ulcer due to Helicobacter pylori", ("Gallstones", "Chronic pancreatitis", "Irritable bowel syndrome"),
         "treat with eradication therapy (a proton pump inhibitor and two antibiotics) and retest afterwards"),
    Case("woman", "medium", "heavy periods for a year, tiredness, a haemoglobin of 92 g/L, an MCV of 70 fL and a low ferritin", "dx",
         "Iron deficiency anaemia", ("Vitamin B12 deficiency", "Thalassaemia trait", "Anaemia of chronic disease"),
         "replace iron orally and investigate the heavy periods"),
    Case("old", "medium", "a painful band of blisters on one side of the chest that follows a single dermatome", "cause",
         "Reactivation of varicella-zoster virus", ("Herpes simplex virus", "Contact dermatitis", "Impetigo"),
         "start aciclovir within 72 hours of the rash and give analgesia"),
    Case("adult", "medium", "morning stiffness of both hands for more than an hour, swollen knuckles for three months and positive anti-CCP antibodies", "dx",
         "Rheumatoid arthritis", ("Osteoarthritis", "Gout", "Psoriatic arthritis"),
         "refer to rheumatology early for disease-modifying treatment such as methotrexate"),
    Case("adult", "medium", "a wrist drop after a fracture of the shaft of the humerus", "nerve",
         "Radial nerve", ("Ulnar nerve", "Median nerve", "Axillary nerve"),
         "the radial nerve runs in the spiral groove; most palsies recover, so splint the wrist and review",
         ("Which nerve is most likely injured?", "Which of the following nerves is most likely injured?")),
    Case("adult", "medium", "recurrent one-sided throbbing headaches lasting a day, with nausea and sensitivity to light, and a normal examination", "dx",
         "Migraine without aura", ("Cluster headache", "Tension-type headache", "Subarachnoid haemorrhage"),
         "treat attacks with an NSAID or a triptan and keep a headache diary"),
    Case("adult", "medium", "itchy, well-demarcated plaques with silvery scale on both elbows and the scalp", "dx",
         "Plaque psoriasis", ("Atopic eczema", "Tinea corporis", "Seborrhoeic keratosis"),
         "use a topical corticosteroid with a vitamin D analogue"),
    Case("woman", "medium", "burning on passing urine and frequency for two days, with no fever or loin pain and a negative pregnancy test", "drug",
         "Nitrofurantoin", ("Intravenous ceftriaxone", "Oral fluconazole", "Oral metronidazole"),
         "a three-day course treats uncomplicated cystitis; return if fever or loin pain appear"),
    Case("old", "medium", "swelling of both ankles two months after starting amlodipine for hypertension, with no breathlessness", "cause",
         "Side effect of amlodipine", ("Heart failure", "Deep vein thrombosis", "Nephrotic syndrome"),
         "dihydropyridine calcium channel blockers cause ankle oedema; lower the dose or switch, without stopping treatment abruptly"),
    Case("adult", "medium", "a dry cough for three weeks after a cold, with no fever, weight loss or blood in the sputum, in a non-smoker", "dx",
         "Post-infectious cough", ("Lung cancer", "Pulmonary tuberculosis", "Pulmonary embolism"),
         "reassure and review; a chest X-ray is needed if it lasts beyond eight weeks or red flags appear"),
    Case("old", "high", "atrial fibrillation treated with warfarin and a new prescription of clarithromycin for a chest infection", "risk",
         "Raised INR and bleeding", ("Lower INR and clotting", "Hyperkalaemia", "Hypoglycaemia"),
         "clarithromycin inhibits warfarin metabolism: check the INR within a few days or choose another antibiotic",
         ("What is the main risk of this combination?", "Which of the following is the main risk of this combination?")),
    Case("breastfeeding", "high", "dental pain while breastfeeding a 2-month-old baby; she has codeine tablets at home", "advice",
         "Avoid codeine; use paracetamol or ibuprofen", ("Codeine is safe at any dose", "Stop breastfeeding for a month", "Take aspirin instead"),
         "ultra-rapid metabolisers pass morphine to the baby in breast milk",
         ("Which painkiller advice is correct?", "Which of the following is the most appropriate advice?")),
    Case("man", "medium", "severe colicky left loin pain radiating to the groin, blood in the urine and no fever", "dx",
         "Renal colic from a ureteric stone", ("Acute pyelonephritis", "Testicular torsion", "Diverticulitis"),
         "give an NSAID for pain, arrange a non-contrast CT of the kidneys and ureters, and refer urgently if fever appears"),
]

ASKS = {  # (open-ended phrasings, multiple-choice stem) per kind of ground truth
    "dx": (["What is the most likely diagnosis?", "Which diagnosis best explains this presentation?", "What condition is this most consistent with?"],
           "Which of the following is the most likely diagnosis?"),
    "drug": (["Which drug should be given first?", "What is the most appropriate drug treatment?", "Which medication is indicated now?"],
             "Which of the following is the most appropriate treatment?"),
    "test": (["What is the most appropriate next investigation?", "Which test should be done first?"],
             "Which of the following is the most appropriate next step?"),
    "cause": (["What is the most likely cause?", "What best explains these findings?"],
              "Which of the following is the most likely cause?"),
}

EN_WHO = {  # (phrase with {age}, age range)
    "man": [("A {age}-year-old man", (45, 75)), ("A {age}-year-old lorry driver", (45, 64)), ("A {age}-year-old retired engineer", (66, 80))],
    "woman": [("A {age}-year-old woman", (19, 45)), ("A {age}-year-old teacher", (24, 45)), ("A {age}-year-old shop assistant", (19, 40))],
    "adult": [("A {age}-year-old man", (22, 65)), ("A {age}-year-old woman", (22, 65)), ("A {age}-year-old office worker", (24, 60)),
              ("A {age}-year-old university student", (19, 24))],
    "old": [("A {age}-year-old woman", (70, 92)), ("A {age}-year-old man", (70, 92)), ("A {age}-year-old care-home resident", (78, 95))],
    "child": [("A {age}-year-old girl", (6, 12)), ("A {age}-year-old boy", (6, 12))],
    "infant": [("A {age}-month-old boy", (2, 6)), ("A {age}-month-old girl", (2, 6))],
    "preg": [("A {age}-year-old woman", (22, 40)), ("A {age}-year-old primigravida", (22, 36))],
    "breastfeeding": [("A {age}-year-old woman", (22, 40)), ("A {age}-year-old mother", (22, 40))],
}
EN_SETTING = {  # urgent settings only for high-risk cases: the setting must not contradict the case
    "infant": ["is brought to the emergency department by her parents with", "is brought to the paediatric clinic with"],
    "child": ["is brought to the emergency department with", "is brought to the GP by his mother with"],
    "high": ["presents to the emergency department with", "is brought to the emergency department with", "is seen by the ambulance crew with"],
    "default": ["comes to the clinic with", "is seen by the GP with", "attends the walk-in centre with", "presents to the outpatient clinic with"],
}
EN_HISTORY = ["", " He or she has no known drug allergies.", " He or she is accompanied by a relative.",
              " He or she has not been seen elsewhere for this.", " Observations were recorded on arrival."]
EN_GENERAL_FRAMES = ["{q}", "A student asks: {q}", "For a health-education class: {q}", "Out of general interest: {q}",
                     "A visitor at a science museum asks: {q}", "Quick question from a parent at a school talk: {q}"]
EN_GENERAL_TAILS = ["", " Please keep it brief.", " A short answer is enough.", " Add one fact worth remembering."]
EN_OPENERS = ["Alright, let's think this through.", "Okay, so let's start with what we know.",
              "Let me work through this carefully.", "Hmm, first I want to pin down the key finding."]

EN_GENERAL = [  # (question, response, short answer that answers the question)
    ("Who discovered penicillin, and in what year?", "Alexander Fleming noticed in 1928 that a Penicillium mould killed staphylococci; Florey and Chain later turned it into a usable drug.", "Alexander Fleming, 1928"),
    ("Who first showed that inoculation with cowpox protects against smallpox?", "Edward Jenner showed it in 1796, the basis of vaccination and, eventually, of smallpox eradication.", "Edward Jenner"),
    ("How many minutes of moderate physical activity a week are recommended for adults?", "At least 150 minutes of moderate activity a week, spread over most days; vigorous activity counts double, and muscle strengthening twice a week is advised as well.", "150 minutes"),
    ("Which physician mapped cholera deaths around the Broad Street pump in 1854?", "John Snow mapped the cases around the London pump and showed that cholera spreads through water.", "John Snow"),
    ("How many hours of sleep do most adults need each night?", "Most adults need seven to nine hours; regular sleep supports memory, mood and metabolic health.", "Seven to nine hours"),
    ("Who invented the stethoscope?", "René Laennec invented it in 1816, making auscultation of the heart and lungs practical.", "René Laennec"),
    ("Who extracted insulin for the first time in 1921?", "Frederick Banting and Charles Best extracted it in Toronto in 1921; it saved children with type 1 diabetes the next year.", "Banting and Best"),
    ("What sun protection factor is recommended for everyday sunscreen outdoors?", "Use a broad-spectrum sunscreen of SPF 30 or more, reapplied every two hours, together with shade and clothing.", "SPF 30 or more"),
]

ZH_CASES = [  # (who, risk, findings, kind, truth, distractors, advice)
    ("man", "high", "胸口压榨样疼痛四十分钟，向左肩和下颌放射，伴大汗，心电图II、III、aVF导联ST段抬高", "dx", "急性下壁心肌梗死",
     ("稳定型心绞痛", "急性心包炎", "胃食管反流病"), "应立即启动再灌注治疗，嚼服阿司匹林300毫克并持续心电监护"),
    ("old", "high", "一小时前突然右侧肢体无力、口角歪斜、说话含糊，指尖血糖正常", "test", "头颅CT平扫",
     ("腰椎穿刺", "腰椎MRI", "六周后颈动脉超声"), "CT排除脑出血后，发病4.5小时内可静脉溶栓"),
    ("adult", "high", "吃花生后几分钟内嘴唇和舌头肿胀、喘鸣、全身荨麻疹，血压80/50毫米汞柱", "drug", "肌内注射肾上腺素",
     ("口服西替利嗪", "单用雾化沙丁胺醇", "单用静脉氢化可的松"), "立即在大腿外侧肌注0.5毫克，必要时5分钟后重复，平卧并呼叫急救"),
    ("adult", "high", "与家人争吵后吞服了三十多片500毫克对乙酰氨基酚，六小时后出现恶心", "drug", "N-乙酰半胱氨酸",
     ("纳洛酮", "氟马西尼", "碳酸氢钠"), "血药浓度超过治疗线应立即使用，同时监测肝功能并评估自杀风险"),
    ("adult", "high", "今早呕鲜血两次，解黑便，心率118次/分，长期每天服用布洛芬止痛", "dx", "消化性溃疡出血",
     ("急性胰腺炎", "胃食管反流病", "食管念珠菌病"), "需要立即补液、停用非甾体抗炎药、静脉质子泵抑制剂并尽快急诊胃镜"),
    ("preg", "high", "怀孕34周，剧烈头痛、视物模糊，血压168/112毫米汞柱，尿蛋白3+", "dx", "重度子痫前期",
     ("偏头痛", "紧张型头痛", "慢性高血压"), "应立即住院降压、使用硫酸镁预防抽搐并评估终止妊娠时机"),
    ("infant", "high", "发烧39.2度、吃奶差、烦躁哭闹，前囟门膨隆", "dx", "细菌性脑膜炎",
     ("出牙期发热", "普通感冒", "急性胃肠炎"), "需立即抽血培养、条件允许时腰穿，并尽早静脉使用抗生素"),
    ("child", "high", "误服了家里的有机磷农药，口吐白沫、大汗、瞳孔针尖样缩小", "drug", "阿托品",
     ("纳洛酮", "维生素K1", "N-乙酰半胱氨酸"), "立即脱去污染衣物、清洗皮肤，使用阿托品并尽早加用解磷定"),
    ("adult", "high", "1型糖尿病，呕吐、呼吸深快，血糖28毫摩尔/升，血酮5毫摩尔/升", "dx", "糖尿病酮症酸中毒",
     ("高渗高血糖状态", "急性胃肠炎", "低血糖"), "应静脉补液、小剂量胰岛素持续输注并补钾，每小时监测"),
    ("woman", "high", "月经推迟十天，突然左下腹剧痛，少量阴道出血，头晕，尿妊娠试验阳性", "dx", "异位妊娠破裂",
     ("先兆流产", "尿路感染", "急性阑尾炎"), "属于外科急症，需要立即补液、备血并急诊腹腔镜手术"),
    ("old", "high", "在卫生间滑倒后不能站立，右下肢缩短并外旋", "dx", "股骨颈骨折",
     ("髋关节骨关节炎发作", "腰椎间盘突出", "膝关节扭伤"), "止痛后拍髋部X线，尽量在36小时内手术"),
    ("adult", "medium", "乏力、怕冷、便秘、体重增加，TSH 12 mU/L，游离T4降低", "drug", "左甲状腺素",
     ("甲巯咪唑", "普萘洛尔", "放射性碘"), "老年或有心脏病者从小剂量开始，六到八周后复查TSH"),
    ("adult", "medium", "两次空腹血糖分别为7.4和7.8毫摩尔/升，体重指数33，肾功能正常", "drug", "二甲双胍",
     ("甘精胰岛素", "奥利司他", "吡格列酮"), "同时控制饮食、增加运动，三个月后复查糖化血红蛋白"),
    ("adult", "medium", "上腹烧灼痛，进食后缓解，尿素呼气试验阳性", "dx", "幽门螺杆菌相关十二指肠溃疡",
     ("胆囊结石", "慢性胰腺炎", "肠易激综合征"), "应进行根除治疗（质子泵抑制剂加两种抗生素），疗程结束后复查"),
    ("adult", "medium", "双手晨僵超过一小时，掌指关节肿胀三个月，抗CCP抗体阳性", "dx", "类风湿关节炎",
     ("骨关节炎", "痛风", "银屑病关节炎"), "尽早转诊风湿免疫科，开始甲氨蝶呤等改善病情药物"),
    ("adult", "medium", "反复一侧搏动性头痛，每次持续一天，伴恶心、怕光，神经系统检查正常", "dx", "无先兆偏头痛",
     ("丛集性头痛", "紧张型头痛", "蛛网膜下腔出血"), "发作时用非甾体抗炎药或曲普坦类药物，并记录头痛日记"),
    ("woman", "medium", "尿频、尿痛两天，无发热和腰痛，尿妊娠试验阴性", "drug", "呋喃妥因",
     ("静脉头孢曲松", "口服氟康唑", "口服甲硝唑"), "短程口服即可治疗单纯性膀胱炎，出现发热或腰痛需复诊"),
    ("old", "medium", "服用氨氯地平降压两个月后双侧踝部水肿，无气短", "cause", "氨氯地平的不良反应",
     ("心力衰竭", "深静脉血栓", "肾病综合征"), "二氢吡啶类钙通道阻滞剂常致踝部水肿，可减量或换药，不要自行骤停"),
    ("adult", "medium", "感冒后干咳三周，不发热，无消瘦和咯血，不吸烟", "dx", "感染后咳嗽",
     ("肺癌", "肺结核", "肺栓塞"), "先观察随访，超过八周或出现危险信号需拍胸片"),
    ("man", "medium", "左侧腰部剧烈绞痛并向腹股沟放射，尿色淡红，无发热", "dx", "输尿管结石所致肾绞痛",
     ("急性肾盂肾炎", "睾丸扭转", "憩室炎"), "可用非甾体抗炎药止痛，做泌尿系CT平扫，出现发热需急诊处理"),
]
ZH_ASKS = {
    "dx": ["最可能的诊断是什么？", "这最符合哪种疾病？", "首先应考虑什么诊断？"],
    "drug": ["应首先使用什么药物？", "最合适的治疗药物是什么？"],
    "test": ["下一步最合适的检查是什么？", "应首先做哪项检查？"],
    "cause": ["最可能的原因是什么？", "这些表现最可能由什么引起？"],
}
ZH_WHO = {  # (phrase with {age}, age range)
    "man": [("{age}岁男性", (45, 75)), ("一位{age}岁的男性货车司机", (45, 64))],
    "woman": [("{age}岁女性", (19, 45)), ("一位{age}岁的女教师", (24, 45))],
    "adult": [("{age}岁男性", (22, 65)), ("{age}岁女性", (22, 65)), ("一位{age}岁的公司职员", (24, 60))],
    "old": [("{age}岁女性", (70, 92)), ("{age}岁男性", (70, 92))],
    "child": [("{age}岁男孩", (3, 12)), ("{age}岁女孩", (3, 12))],
    "infant": [("{age}个月大的男婴", (2, 6)), ("{age}个月大的女婴", (2, 6))],
    "preg": [("{age}岁孕妇", (22, 40))],
}
ZH_HISTORY = ["", "无药物过敏史。", "家属陪同就诊。", "此前未到其他医院就诊。", "症状出现后即来院。"]
ZH_SETTING = {"infant": ["，由父母抱来急诊，", "，由家长抱来儿科门诊，"], "child": ["，由家长带来急诊，", "，由父母带到儿科门诊，"],
              "high": ["，到急诊就诊，主要表现：", "，由家属送来急诊，表现为：", "，急诊就诊时情况如下："],
              "default": ["，就诊时情况如下：", "，到门诊就诊，表现为：", "，在社区医院就诊，表现为：", "，到专科门诊就诊，自述："]}
ZH_GENERAL_FRAMES = ["{q}", "有学生问：{q}", "健康教育课上的问题：{q}", "出于兴趣想问问：{q}", "科技馆的观众好奇：{q}", "家长会上的科普问答：{q}"]
ZH_GENERAL_TAILS = ["", "请简要回答。", "简单说一下就好。", "再补充一个值得记住的要点。"]
ZH_OPENERS = ["好的，我们先把已知情况梳理一下。", "嗯，先抓住最关键的表现。", "我来仔细分析一下。", "首先要判断是不是急症。"]
ZH_GENERAL = [  # (question, response, short answer that answers the question)
    ("青霉素是谁发现的？", "1928年英国细菌学家弗莱明发现青霉菌能杀死葡萄球菌，后来弗洛里和钱恩将其制成药物，开启了抗生素时代。", "弗莱明"),
    ("《本草纲目》是一部什么样的著作？", "《本草纲目》是明代李时珍历时近三十年编成的药物学巨著，收载药物一千八百余种，是中国古代药物学的集大成之作。", "明代李时珍编著的药物学巨著"),
    ("成年人每周建议做多少分钟中等强度运动？", "每周至少150分钟中等强度运动或75分钟高强度运动，另外每周两次力量训练。", "至少150分钟"),
    ("屠呦呦因发现什么药物获得2015年诺贝尔奖？", "屠呦呦从古籍中获得启发，用低温乙醚提取出青蒿素，大幅降低了疟疾死亡率。", "青蒿素"),
    ("成年人每天吃盐不应超过多少克？", "中国居民膳食指南建议成年人每天食盐不超过5克，并注意酱油、咸菜等加工食品中的隐形盐。", "5克"),
    ("大多数成年人每晚需要睡几个小时？", "大多数成年人需要七到九小时，规律睡眠有助于记忆、情绪、免疫和代谢健康。", "七到九小时"),
    ("《伤寒杂病论》的作者是谁？", "东汉张仲景著《伤寒杂病论》，总结了辨证论治的方法，后世分为《伤寒论》和《金匮要略》。", "张仲景"),
    ("胰岛素是哪一年首次被提取出来的？", "1921年班廷和贝斯特在多伦多首次提取出胰岛素，次年即用于治疗1型糖尿病儿童。", "1921年"),
]


def _age(rng: random.Random, span: tuple[int, int]) -> int:
    return rng.randint(*span)


def _lc(text: str) -> str:
    """Lower-case the first letter unless the word is an acronym (MRI, INR)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _article(phrase: str) -> str:
    """'A 84-year-old' -> 'An 84-year-old' (and 11, 18)."""
    if phrase.startswith("A ") and (phrase[2:3] == "8" or phrase[2:5] in ("11-", "18-")):
        return "An " + phrase[2:]
    return phrase


def _en_case_record(rng: random.Random, case: Case, variant: int, mc: bool) -> dict:
    phrase, span = rng.choice(EN_WHO[case.who])
    who = _article(phrase.format(age=_age(rng, span)))
    setting = rng.choice(EN_SETTING.get(case.who) or EN_SETTING["high" if case.risk == "high" else "default"])
    female = any(w in who for w in (" woman", "girl", "mother", "primigravida"))
    history = rng.choice(EN_HISTORY).replace("He or she", "She" if female else "He") if variant else ""
    opens, stem = (list(case.ask[:1]), case.ask[1]) if case.ask else ASKS[case.kind]
    if case.who == "breastfeeding":
        vignette = f"{who} asks her GP about {case.findings}.{history}"
    else:
        vignette = f"{who} {setting} {case.findings}.{history}"
    question = f"{vignette} {rng.choice(opens)}"
    d1, d2 = case.distractors[0], case.distractors[1]
    if case.kind in ("dx", "cause"):
        weigh = f"Could this be {_lc(d1)} or {_lc(d2)}? Those do not fit the findings as well as {_lc(case.truth)} does."
    else:
        weigh = f"Options such as {_lc(d1)} or {_lc(d2)} come to mind, but they are not the right choice here."
    cot = (f"{rng.choice(EN_OPENERS)} The key findings are {case.findings}. {weigh} "
           f"So the answer is {case.truth}, and then I should say what to do next.")
    rec = {"Question": question, "Complex_CoT": cot, "Response": f"{case.truth}. In practice, {case.advice}.", "_gt": case.truth}
    if mc:
        options = list(case.distractors) + [case.truth]
        rng.shuffle(options)
        letters = "ABCDE"
        idx = options.index(case.truth)
        rec["_mc"] = {"question": f"{vignette} {stem}", "options": {letters[i]: o for i, o in enumerate(options)},
                      "answer_idx": letters[idx], "answer": case.truth}
    return rec


def _en_record(rng: random.Random, i: int, mc: bool) -> dict:
    n_cases = len(EN_CASES)
    block = n_cases + len(EN_GENERAL)
    k, variant = i % block, i // block
    if k >= n_cases:
        q, a, gt = EN_GENERAL[k - n_cases]
        if variant:  # the benchmark files: the same item asked in other words
            q = EN_GENERAL_FRAMES[variant % len(EN_GENERAL_FRAMES)].format(q=q) + EN_GENERAL_TAILS[(variant // len(EN_GENERAL_FRAMES)) % len(EN_GENERAL_TAILS)]
        cot = f"{rng.choice(EN_OPENERS)} This is a general-knowledge question rather than a patient problem. {a} So the short answer is {gt}."
        return {"Question": q, "Complex_CoT": cot, "Response": a, "_gt": gt}
    return _en_case_record(rng, EN_CASES[k], variant, mc)


def _zh_record(rng: random.Random, i: int) -> dict:
    n_cases = len(ZH_CASES)
    block = n_cases + len(ZH_GENERAL)
    k, variant = i % block, i // block
    if k >= n_cases:
        q, a, gt = ZH_GENERAL[k - n_cases]
        if variant:
            q = ZH_GENERAL_FRAMES[variant % len(ZH_GENERAL_FRAMES)].format(q=q) + ZH_GENERAL_TAILS[(variant // len(ZH_GENERAL_FRAMES)) % len(ZH_GENERAL_TAILS)]
        cot = f"{rng.choice(ZH_OPENERS)}这是一个医学常识或医学史问题，不涉及具体病人。{a}所以简短的答案是：{gt}。"
        return {"Question": q, "Complex_CoT": cot, "Response": a, "_gt": gt}
    who_kind, risk, findings, kind, truth, distractors, advice = ZH_CASES[k]
    phrase, span = rng.choice(ZH_WHO[who_kind])
    who = phrase.format(age=_age(rng, span))
    extra = rng.choice(ZH_HISTORY) if variant else ""
    q = f"{who}{rng.choice(ZH_SETTING.get(who_kind) or ZH_SETTING['high' if risk == 'high' else 'default'])}{findings}。{extra}{rng.choice(ZH_ASKS[kind])}"
    if kind in ("dx", "cause"):
        weigh = f"要和{distractors[0]}、{distractors[1]}鉴别，但它们都不如{truth}符合这些表现。"
    else:
        weigh = f"{distractors[0]}、{distractors[1]}等选择在这里都不合适。"
    cot = f"{rng.choice(ZH_OPENERS)}关键表现是：{findings}。{weigh}所以答案是{truth}，接下来说明如何处理。"
    return {"Question": q, "Complex_CoT": cot, "Response": f"{truth}。{advice}。", "_gt": truth}


def medical_o1_records(n: int, lang: str, seed: int = 0, verifiable: bool = False) -> list[dict]:
    """``n`` medical-o1 records (``lang`` 'en' or 'zh'); ``verifiable`` adds the demo file's extra
    fields: the MedQA-style item (English) and the verifiable question with its ground truth."""
    rng = random.Random(f"{seed}-{lang}")
    out = []
    for i in range(n):
        rec = _en_record(rng, i, verifiable) if lang == "en" else _zh_record(rng, i)
        gt = rec.pop("_gt")
        mc = rec.pop("_mc", None)
        if verifiable:
            head = {}
            if mc:
                head = {"question": mc["question"], "options": mc["options"], "answer_idx": mc["answer_idx"], "answer": mc["answer"]}
            rec = {**head, "Open-ended Verifiable Question": rec["Question"], "Ground-True Answer": gt, **rec}
        out.append(rec)
    return out


def write_json_array(records: list[dict], path: Path) -> None:
    """The published layout: one array, 4-space indent, raw UTF-8, no final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=4), encoding="utf-8")


DEMO_EN = len(EN_CASES) + len(EN_GENERAL)  # every English case and item once
DEMO_ZH = len(ZH_CASES) + len(ZH_GENERAL)


def write_samples(folder: Path) -> None:
    """The shipped demo files of medical-o1: each case once."""
    write_json_array(medical_o1_records(DEMO_EN, "en", seed=1, verifiable=True), folder / "medical_o1_sft.json")
    write_json_array(medical_o1_records(DEMO_ZH, "zh", seed=2), folder / "medical_o1_sft_Chinese.json")


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
