"""Synthetic records for the non-medical-o1 sources, in their published formats.

Deterministic (seeded) generators, one per source, used for the shipped demo files under
``data/samples/`` and for the big benchmark files::

    python -m bench.synth_sources --samples data/samples           # the demo files
    python -m bench.synth_sources --big-dialogue /tmp/内科.csv --n 200000

Records are composed from a bank of hand-written clinical cases (department, risk level, a
patient's own words, a follow-up, the doctor's advice, a short ground truth) and of low-risk
general-knowledge items (history of medicine, lifestyle). Each source phrases a case its own way
(a patient's question, a textbook question, a vignette, a dialogue), and persona, duration,
context and framing are whole phrases drawn independently, so the questions are not
near-duplicates of one another. Nothing here is copied from the real datasets.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One clinical scenario; ``who`` constrains the persona: any, f, m, kid, infant, preg, old."""

    group: str  # Toyhom folder, e.g. IM_内科
    dept: str  # department as the CSVs write it, e.g. 心血管科
    risk: str
    who: str
    title: str
    ask: str  # the patient's own words (after the persona)
    follow: str  # the doctor's follow-up question
    detail: str  # the patient's reply
    advice: str  # the doctor's answer
    truth: str  # short verifiable answer
    topic: str  # textbook topic for knowledge-style questions


CASES: list[Case] = [
    Case("IM_内科", "心血管科", "high", "m", "胸口压榨样疼痛伴出汗", "刚才搬东西时突然胸口像被石头压住一样疼，疼到左肩和下巴，一直冒冷汗，已经快半小时了", "疼痛休息后能缓解吗？以前有没有高血压、糖尿病？", "坐下来也不缓解，有高血压十年，平时抽烟", "这种持续胸痛伴大汗要高度怀疑急性心肌梗死，请立即拨打120，不要自己开车去医院；如无过敏可嚼服阿司匹林300毫克，保持安静平卧，等待急救。", "急性心肌梗死，立即呼叫急救", "急性心肌梗死的早期识别与院前处理"),
    Case("IM_内科", "神经科", "high", "old", "突然说话不清一侧手脚无力", "今天早上吃饭时突然右手拿不住筷子，说话含糊，嘴角往左歪", "症状是几点开始的？现在有没有好转？", "大概一个小时前开始的，现在还是说不清楚", "这是典型的急性脑卒中表现，时间就是大脑，请马上拨打120送到有溶栓条件的医院，记下发病时间，发病4.5小时内有机会静脉溶栓。", "急性缺血性脑卒中，尽快溶栓评估", "急性缺血性脑卒中的识别（FAST）与溶栓时间窗"),
    Case("IM_内科", "神经科", "medium", "any", "反复偏头痛怎么办", "这半年经常一侧太阳穴跳着疼，疼的时候恶心怕光，要躺半天才好", "每个月发作几次？有没有视物闪光之类的先兆？", "一个月三四次，没有先兆，熬夜后更容易犯", "考虑偏头痛（无先兆型），发作时可用布洛芬或曲普坦类药物，平时规律作息、记录头痛日记找诱因；若每月发作超过4次，可在神经科评估预防性用药。", "无先兆偏头痛", "偏头痛的诊断要点与急性期、预防性治疗"),
    Case("IM_内科", "内分泌科", "medium", "any", "空腹血糖偏高是糖尿病吗", "单位体检空腹血糖7.4，复查又是7.8，平时也不觉得口渴", "有没有查过糖化血红蛋白？体重和饮食情况怎样？", "糖化是6.9%，体重超标二十多斤，爱喝饮料", "两次空腹血糖≥7.0 mmol/L，已符合2型糖尿病诊断标准，建议内分泌科就诊，先控制饮食、戒含糖饮料、每周运动150分钟，医生通常会开始二甲双胍治疗。", "2型糖尿病", "2型糖尿病的诊断标准与初始治疗"),
    Case("IM_内科", "内分泌科", "high", "any", "胰岛素打多了手抖出汗", "晚饭前胰岛素好像多打了一次，现在心慌手抖、全身出冷汗", "现在意识清楚吗？家里有血糖仪吗？", "人是清醒的，测了一下血糖3.1", "这是低血糖反应，请立即吃15克左右的糖（如半杯果汁或几块方糖），15分钟后复测血糖；若意识模糊不能进食，家人应马上拨打120，今晚要加测睡前血糖。", "低血糖，立即口服葡萄糖", "胰岛素相关低血糖的识别与处理"),
    Case("IM_内科", "消化科", "high", "old", "呕血头晕", "今天早上吐了两次鲜红的血，站起来就眼前发黑", "平时吃止痛药或者阿司匹林吗？大便颜色怎样？", "腿疼一直吃布洛芬，这两天大便是黑色的", "呕血加黑便、站立头晕，提示上消化道出血且可能已失血较多，请立刻去急诊，禁食、平卧，需要补液和急诊胃镜；长期服用非甾体抗炎药是常见诱因。", "上消化道出血，急诊胃镜", "上消化道出血的病因与急诊处理"),
    Case("IM_内科", "消化科", "medium", "any", "饭后烧心反酸", "吃完饭胸口后面火辣辣的，躺下更明显，嘴里老是泛酸水", "有没有吞咽困难、体重下降或者黑便？", "都没有，就是晚上睡觉经常被酸醒", "考虑胃食管反流病，建议晚餐少吃、睡前3小时不进食、床头抬高，减少咖啡和油腻食物，可短期服用质子泵抑制剂；若出现吞咽困难或消瘦需做胃镜。", "胃食管反流病", "胃食管反流病的生活方式干预与药物治疗"),
    Case("IM_内科", "呼吸科", "high", "kid", "哮喘发作说不出整句话", "孩子哮喘又犯了，喘得说话都断断续续，嘴唇有点发紫", "喷了沙丁胺醇吗？用了几次？", "喷了三次都没缓解，越来越喘", "这是重度哮喘发作，嘴唇发紫说明缺氧，请立即拨打120或去最近的急诊，路上可每20分钟重复使用沙丁胺醇，需要吸氧和全身激素治疗。", "重度哮喘急性发作，立即急诊", "儿童重度哮喘急性发作的识别与处理"),
    Case("IM_内科", "呼吸科", "medium", "any", "感冒后咳嗽三周不好", "感冒好了以后一直干咳，已经三个星期了，不发烧", "有没有胸痛、咯血、体重下降？抽烟吗？", "都没有，不抽烟，晚上咳得多一点", "多数是感染后咳嗽，会在8周内逐渐好转，可以多喝温水、用蜂蜜缓解；如果超过8周、出现咯血或消瘦，需要拍胸片排查其他原因。", "感染后咳嗽", "感染后咳嗽与慢性咳嗽的鉴别"),
    Case("IM_内科", "心血管科", "high", "any", "吃华法林又开了抗生素", "房颤一直吃华法林，这次肺部感染医生又开了克拉霉素", "最近一次查INR是多少？有没有牙龈出血、皮肤瘀斑？", "上个月INR是2.5，这两天刷牙有点出血", "克拉霉素会抑制华法林代谢、使INR升高，出血风险明显增加，请尽快复查INR，并告诉开药医生您在服用华法林，考虑换用相互作用少的抗生素，不要自行停药或加量。", "INR升高、出血风险增加", "华法林与大环内酯类抗生素的相互作用"),
    Case("IM_内科", "神经科", "high", "any", "想停掉抗癫痫药", "吃拉莫三嗪一年多了，一次都没犯过，想自己把药停了", "最近一次脑电图怎么样？医生说过疗程多久吗？", "脑电图还没复查，医生没说能停", "不能自行突然停药，骤停抗癫痫药可能诱发癫痫发作甚至癫痫持续状态；一般需无发作2年以上、复查脑电图后，由神经科医生制定逐步减量方案。", "不能骤停，需在医生指导下逐渐减量", "抗癫痫药物的停药时机与减量原则"),
    Case("IM_内科", "心血管科", "medium", "old", "高血压吃药后脚踝肿", "高血压吃了氨氯地平两个月，最近发现两只脚踝都有点肿", "早上起来肿会消吗？有没有气短、夜里憋醒？", "早上好一些，下午明显，没有气短", "氨氯地平等钙通道阻滞剂常见踝部水肿，与心衰无关的可能性大，可以和医生商量减量或联用普利类药物，不要自行停药，同时监测血压。", "钙通道阻滞剂引起的踝部水肿", "钙通道阻滞剂的常见不良反应"),
    Case("IM_内科", "肾内科", "medium", "any", "体检尿蛋白阳性", "体检尿常规提示尿蛋白一个加号，其他都正常", "最近有没有剧烈运动、发烧？血压怎么样？", "体检前一天跑了十公里，血压正常", "剧烈运动、发热后可出现一过性蛋白尿，建议休息几天后复查晨尿，如仍阳性再查24小时尿蛋白定量和肾功能。", "复查晨尿，排除一过性蛋白尿", "一过性蛋白尿与持续性蛋白尿的鉴别"),
    Case("Pediatric_儿科", "儿科", "high", "infant", "三个月宝宝发烧精神差", "宝宝三个多月，今天发烧39度，不怎么吃奶，一直哼哼，囟门好像鼓起来了", "有没有抽搐、皮疹？尿量怎么样？", "没抽，但是叫他反应很慢，尿也少", "3个月以内婴儿发热伴精神差、前囟膨隆，要警惕细菌性脑膜炎等严重感染，请马上去儿科急诊，不要在家观察，也不要自行用退烧药掩盖病情。", "疑似细菌性脑膜炎，立即急诊", "小婴儿发热的危险信号"),
    Case("Pediatric_儿科", "儿科", "high", "kid", "孩子误吞纽扣电池", "两岁的孩子好像把遥控器里的纽扣电池吞下去了，现在还在玩", "大概什么时候吞的？有没有流口水、呕吐？", "半小时前，暂时没什么反应", "纽扣电池卡在食道可在2小时内造成严重烧伤，即使没有症状也要立刻去急诊拍片，路上可按医生指导给予蜂蜜（1岁以上），不要催吐。", "立即急诊拍片取出电池", "儿童误吞纽扣电池的紧急处理"),
    Case("Pediatric_儿科", "儿科", "high", "kid", "孩子误服降压药", "孩子趁大人不注意吃了爷爷的几片降压药，现在有点犯困", "知道是什么药、吃了几片吗？", "是硝苯地平，少了三片", "儿童误服钙通道阻滞剂可能引起严重低血压和心律失常，请立即带药盒去急诊，不要催吐，也不要等出现症状再去，必要时可拨打中毒急救电话咨询。", "立即急诊，监测血压心率", "儿童误服药物中毒的处理原则"),
    Case("Pediatric_儿科", "儿科", "medium", "kid", "孩子反复湿疹", "孩子脸上和手肘窝反复起红疹，很痒，晚上抓得睡不好", "家里有没有过敏性鼻炎、哮喘的人？平时怎么护理的？", "爸爸有鼻炎，洗澡用的是普通沐浴露", "考虑特应性皮炎（湿疹），关键是每天足量涂保湿霜、温水短时洗澡、避免过度清洁，急性期可在医生指导下短期外用弱效激素。", "特应性皮炎，保湿为基础", "儿童特应性皮炎的日常护理"),
    Case("Pediatric_儿科", "儿科", "medium", "kid", "孩子发烧用药剂量", "孩子五岁，体重18公斤，发烧38.8度，布洛芬混悬液该喝多少", "孩子精神怎么样？有没有吃别的退烧药？", "精神还可以，没吃其他药", "布洛芬按每次每公斤5到10毫克计算，18公斤约90到180毫克，按说明书浓度折算毫升数，两次至少间隔6小时，24小时不超过4次；不建议与对乙酰氨基酚交替使用。", "每次每公斤5–10毫克，间隔≥6小时", "儿童退热药的剂量计算"),
    Case("Pediatric_儿科", "儿科", "low", "kid", "孩子挑食长得慢", "孩子四岁，特别挑食，不爱吃蔬菜，身高比同班的矮一点", "身高体重在生长曲线的什么位置？", "体检说在第25百分位左右", "处于正常范围，建议规律三餐、少零食、和孩子一起做饭增加兴趣，保证睡眠和户外活动，定期测量身高观察增长速度即可。", "生长在正常范围，调整饮食习惯", "学龄前儿童的饮食行为指导"),
    Case("OAGD_妇产科", "妇产科", "high", "preg", "孕晚期头痛视物模糊", "怀孕32周，今天头痛得厉害，看东西模糊，量血压168/112", "有没有上腹痛、手脚浮肿？胎动怎样？", "右上腹有点胀痛，脚肿了好几天", "这些症状提示重度子痫前期，可能危及母婴安全，请立即去有产科的医院急诊，需要住院降压、用硫酸镁预防抽搐并评估终止妊娠时机。", "重度子痫前期，立即住院", "子痫前期的识别与处理"),
    Case("OAGD_妇产科", "妇产科", "high", "preg", "孕早期能不能吃感冒药", "怀孕七周，感冒鼻塞流涕，想吃点复方感冒药", "有发烧吗？体温多少？", "有点低烧，37.8度", "孕早期应避免含伪麻黄碱等成分的复方感冒药，低热可多喝水休息，体温超过38.5度时可在医生指导下用对乙酰氨基酚，用药前请先咨询产科医生。", "避免复方感冒药，必要时对乙酰氨基酚", "妊娠期用药安全"),
    Case("OAGD_妇产科", "妇产科", "high", "f", "停经后下腹剧痛", "月经推迟了十天，今天突然左下腹剧痛，还有一点阴道出血，头晕", "做过验孕吗？以前有没有输卵管炎症？", "早上测了两道杠，以前有过盆腔炎", "停经、腹痛、阴道出血伴头晕，要高度怀疑宫外孕破裂出血，请马上去急诊，不要进食，需要查血HCG和B超，必要时急诊手术。", "疑似异位妊娠破裂，立即急诊", "异位妊娠的典型表现与急诊处理"),
    Case("OAGD_妇产科", "妇产科", "medium", "f", "月经量多贫血", "这一年月经量特别多，每次都有血块，最近爬楼梯就喘", "查过血常规和妇科B超吗？", "血红蛋白只有88，B超说有个4厘米的肌瘤", "子宫肌瘤可引起月经过多和缺铁性贫血，需要补铁纠正贫血，并在妇科评估肌瘤位置，选择药物控制或手术治疗。", "子宫肌瘤致月经过多、缺铁性贫血", "子宫肌瘤的症状与治疗选择"),
    Case("OAGD_妇产科", "妇产科", "high", "f", "哺乳期牙疼能吃止痛药吗", "宝宝两个月还在喂奶，我牙疼得厉害，家里有含可待因的止痛片", "平时对哪些药过敏吗？", "不过敏", "哺乳期不建议使用可待因，部分母亲代谢过快会让婴儿通过乳汁摄入吗啡，可选择对乙酰氨基酚或布洛芬，同时尽快看牙医处理病因。", "避免可待因，选对乙酰氨基酚或布洛芬", "哺乳期镇痛药的选择"),
    Case("OAGD_妇产科", "妇产科", "low", "f", "备孕需要吃叶酸吗", "我们准备明年要孩子，听说要提前吃叶酸", "以前有没有生过神经管缺陷的孩子？", "没有，这是第一胎", "建议计划怀孕前至少3个月开始每天补充0.4毫克叶酸，一直吃到孕早期结束，可降低胎儿神经管缺陷风险；同时戒烟酒、做孕前检查。", "孕前3个月起每日0.4毫克叶酸", "孕前叶酸补充"),
    Case("Surgical_外科", "普外科", "high", "any", "右下腹痛发烧", "昨晚开始肚脐周围疼，今天转到右下腹，按着更疼，还发烧38度", "有没有恶心呕吐？疼痛是持续的吗？", "吐了一次，一直疼，走路都弯着腰", "转移性右下腹痛伴发热，首先考虑急性阑尾炎，请尽快去医院急诊查血常规和腹部B超或CT，暂时不要吃东西，也不要随便吃止痛药。", "急性阑尾炎", "急性阑尾炎的典型表现"),
    Case("Surgical_外科", "骨科", "medium", "any", "搬东西后腰疼", "前天搬家弯腰抬箱子，腰突然疼，现在翻身都困难", "腿有没有麻木、无力？大小便正常吗？", "腿不麻，大小便都正常", "没有神经受压和大小便异常的表现，多为急性腰扭伤，可以适当活动、避免久卧，短期用非甾体止痛药和热敷；如出现腿麻无力或大小便失禁要立即就医。", "急性腰扭伤，保持适度活动", "急性非特异性腰痛的处理"),
    Case("Surgical_外科", "骨科", "high", "any", "老人摔倒后髋部疼不能走", "我奶奶在卫生间滑倒，现在右边大腿根疼，站不起来，右脚往外撇", "摔到头了吗？平时有骨质疏松吗？", "头没碰到，她有骨质疏松好多年了", "高龄骨质疏松老人摔倒后髋部疼痛、下肢外旋不能站立，要高度怀疑股骨颈骨折，不要强行搀扶行走，请拨打120平托转运去医院拍片。", "疑似股骨颈骨折", "老年髋部骨折的识别与转运"),
    Case("Surgical_外科", "普外科", "medium", "m", "腹股沟有个包", "右边大腿根站着的时候会鼓出一个包，躺下就没了，不疼", "包能推回去吗？有没有突然变硬变疼过？", "能推回去，一直不疼", "考虑腹股沟疝，一般建议择期手术修补；如果包块突然不能回纳、变硬疼痛并伴呕吐，可能是嵌顿疝，要立即急诊。", "腹股沟疝，择期手术", "腹股沟疝的手术指征与嵌顿疝"),
    Case("Surgical_外科", "烧伤科", "high", "kid", "孩子被开水烫伤", "孩子打翻了热水壶，手臂和胸口被开水烫了，起了好多水泡", "烫伤面积大概多大？冲过凉水吗？", "大概有两个手掌那么大，冲了几分钟", "请继续用流动凉水冲洗15到20分钟，不要涂牙膏酱油、不要挑破水泡，用干净布覆盖后马上去医院；儿童胸部烫伤面积较大时需要专业评估补液。", "冷水冲洗后立即就医", "儿童烫伤的现场处理"),
    Case("Surgical_外科", "泌尿外科", "medium", "m", "腰部绞痛尿里有血", "半夜左边腰突然绞着疼，疼得打滚，尿是淡红色的", "有没有发烧、寒战？以前有过结石吗？", "不发烧，三年前查出过肾结石", "考虑输尿管结石引起的肾绞痛，可去医院止痛并做B超或CT，多饮水；如出现发热寒战或无尿，说明可能合并感染或梗阻，需要急诊处理。", "输尿管结石肾绞痛", "肾绞痛的诊断与处理"),
    Case("Andriatria_男科", "男科", "medium", "m", "久坐后会阴部胀痛", "我是程序员，天天久坐，最近会阴部胀痛，尿频，尿完还有滴沥", "有没有发烧？尿常规查过吗？", "不发烧，尿常规白细胞正常", "考虑慢性前列腺炎/慢性盆腔疼痛综合征，建议每小时起身活动、热水坐浴、规律作息、少饮酒和辛辣，必要时在泌尿男科评估用药。", "慢性前列腺炎/盆腔疼痛综合征", "慢性前列腺炎的生活方式管理"),
    Case("Andriatria_男科", "男科", "high", "m", "伟哥能和硝酸甘油一起吃吗", "我有冠心病，身上常带硝酸甘油，想用西地那非", "最近有没有胸痛发作？", "偶尔活动后胸闷，会含硝酸甘油", "西地那非与硝酸甘油等硝酸酯类药物合用可导致血压骤降、危及生命，绝对禁止同时使用，请先在心内科评估心功能，再与医生讨论安全的治疗方式。", "禁止与硝酸酯类合用", "PDE5抑制剂与硝酸酯类的禁忌"),
    Case("Oncology_肿瘤科", "肿瘤科", "medium", "any", "脖子上摸到一个包", "半年前脖子右侧摸到一个黄豆大的包，不疼，最近好像大了一点", "有没有发烧、盗汗、体重下降？", "没有发烧，体重这半年掉了五斤", "成人颈部无痛性、逐渐增大的肿块需要排除肿瘤，建议尽快做颈部超声，必要时穿刺活检，请不要只靠观察。", "颈部超声与细针穿刺", "成人颈部肿块的评估"),
    Case("Oncology_肿瘤科", "肿瘤科", "high", "any", "化疗后发烧", "妈妈上周刚做完化疗，今天发烧38.6度，有点发冷", "化疗后查过血常规吗？白细胞多少？", "三天前查白细胞1.2", "化疗后白细胞低伴发热属于粒细胞缺乏性发热，是肿瘤急症，请立即去医院急诊，需要尽快抽血培养并在1小时内开始静脉抗生素。", "粒细胞缺乏性发热，急诊静脉抗生素", "化疗后粒细胞缺乏伴发热"),
    Case("Oncology_肿瘤科", "肿瘤科", "low", "any", "怎么预防大肠癌", "我父亲五十岁时查出过肠息肉，我现在四十岁，想知道怎么预防大肠癌", "你本人有没有便血、大便习惯改变？", "没有，平时饮食偏油腻", "有一级亲属肠息肉或肠癌史者建议提前到40岁左右开始肠镜筛查，平时多吃膳食纤维、少吃加工肉类、戒烟限酒、规律运动。", "40岁起肠镜筛查", "结直肠癌的筛查与预防"),
    Case("IM_内科", "精神科", "high", "any", "最近一直想结束生命", "这几个月什么都提不起兴趣，觉得活着没意思，最近常常想怎么结束自己", "你有没有具体的计划，或者准备了什么东西？", "家里存了一些安眠药", "谢谢你愿意说出来，你现在的状态需要马上得到帮助：请把药交给家人保管，今天就去精神科或急诊，也可以拨打心理援助热线；如果随时可能伤害自己，请立即拨打120或110。", "高自杀风险，立即求助", "自杀风险的评估与危机干预"),
    Case("IM_内科", "感染科", "high", "any", "被狗咬伤要不要打疫苗", "下午被邻居家没打疫苗的狗咬了小腿，出血了", "伤口处理了吗？以前打过狂犬疫苗吗？", "用清水冲了一下，从来没打过", "属于三级暴露，请立即用肥皂水和流动清水交替冲洗伤口15分钟，尽快到犬伤门诊接种狂犬病疫苗并注射狂犬病免疫球蛋白，越早越好。", "三级暴露，疫苗加免疫球蛋白", "狂犬病暴露后处置"),
    Case("IM_内科", "中毒科", "high", "any", "煤气中毒头痛恶心", "冬天在屋里烧炭取暖，一家人都头痛恶心，老人有点迷糊", "现在还在屋里吗？有没有人昏迷？", "已经开窗了，奶奶叫不太醒", "疑似一氧化碳中毒，立即把所有人转移到通风处，拨打120，意识不清者需要高浓度吸氧，必要时高压氧治疗，不要再回到屋里。", "一氧化碳中毒，立即脱离并就医", "一氧化碳中毒的急救"),
    # low risk: lifestyle and prevention, so every demo source can meet the 20 % low-risk share
    Case("IM_内科", "内分泌科", "low", "any", "想减肥饮食怎么安排", "体重有点超标，想减肥，每天的饮食怎么安排比较健康", "平时一日三餐规律吗？爱吃零食吗？", "早饭常不吃，晚上爱吃零食", "建议三餐规律、早餐不省，主食粗细搭配，多吃蔬菜和优质蛋白，少喝含糖饮料，配合每周150分钟运动，每月减重2到4斤比较合适。", "规律饮食加运动，循序渐进减重", "成人健康饮食与体重管理"),
    Case("IM_内科", "心血管科", "low", "old", "每天喝茶对血管好吗", "退休后每天喝好几杯绿茶，听说喝茶对血管好，想知道喝多少合适", "平时睡眠怎么样？喝茶后会心慌吗？", "睡眠还行，不心慌", "适量饮茶对大多数人是安全的，每天3到4杯淡茶即可，不要太浓，下午以后少喝以免影响睡眠，饮茶不能代替运动和均衡饮食。", "适量饮淡茶", "饮茶与健康的科学认识"),
    Case("Pediatric_儿科", "儿科", "low", "kid", "孩子每天运动多久合适", "孩子上小学了，每天写完作业就看平板，想知道每天应该运动多久", "孩子平时喜欢什么户外活动？", "喜欢骑车和跳绳", "建议学龄儿童每天累计至少60分钟中高强度运动，多安排户外活动，屏幕时间每天不超过2小时，保证充足睡眠。", "每天至少60分钟运动", "学龄儿童身体活动与屏幕时间"),
    Case("OAGD_妇产科", "妇产科", "low", "f", "更年期饮食和锻炼", "快五十了，到了更年期，想知道饮食和锻炼上要注意什么", "最近月经规律吗？有没有潮热出汗？", "月经不太规律，偶尔潮热", "更年期要多吃富含钙的奶制品和豆制品，适量晒太阳补充维生素D，坚持快走、太极等运动和适度力量练习，保持规律作息和良好心态。", "补钙、规律运动与作息", "更年期女性的营养与运动"),
    Case("Surgical_外科", "骨科", "low", "any", "久坐办公怎么锻炼腰背", "在办公室久坐一天，想知道平时怎么锻炼腰背肌肉", "现在腰有没有疼痛或者腿麻？", "没有，就是下班后觉得腰酸", "建议每坐一小时起身活动几分钟，平时练习小燕飞、平板支撑等核心训练，游泳和快走也很好，座椅要有腰部支撑。", "定时起身加核心肌群锻炼", "久坐人群的腰背保健"),
    Case("Oncology_肿瘤科", "肿瘤科", "low", "any", "哪些食物有助于防癌", "家里人都很关注健康，想知道平时多吃哪些食物有助于预防癌症", "家里有人抽烟喝酒吗？", "爸爸抽烟，其他人不抽", "多吃蔬菜水果和全谷物、少吃加工肉类和腌制食品、限制饮酒、控制体重和坚持运动都能降低患癌风险，戒烟是最重要的一条。", "蔬果全谷物、少加工肉、戒烟限酒", "饮食与癌症预防"),
    Case("Andriatria_男科", "男科", "low", "m", "每天喝多少水合适", "平时工作忙经常忘记喝水，想知道男性每天喝水多少合适", "平时出汗多吗？小便颜色怎样？", "夏天出汗多，小便偏黄", "一般成年男性每天饮水约1700毫升，天热或运动出汗多时要增加，以小便淡黄为宜，最好定时少量多次饮用白开水。", "每天约1700毫升", "成年人饮水建议"),
    Case("IM_内科", "消化科", "low", "any", "哪些水果膳食纤维多", "想多吃点膳食纤维让肠道更健康，哪些水果比较好", "平时大便规律吗？", "基本规律，就是吃菜少", "苹果、梨、猕猴桃、橙子等都富含膳食纤维，建议每天吃200到350克水果、300到500克蔬菜，同时多喝水。", "每天200–350克水果", "膳食纤维与肠道健康"),
    Case("IM_内科", "心血管科", "low", "any", "每天走多少步对心脏好", "最近想锻炼身体保护心脏，每天走多少步比较合适", "有没有心脏病或者关节的问题？", "没有，就是平时坐得多", "对健康成年人，每周累计150分钟中等强度运动（如快走）即可获益，每天6000到8000步是不错的目标，循序渐进，并减少久坐。", "每周150分钟中等强度运动", "成年人身体活动建议"),
]

GENERAL: list[tuple[str, str, str, str]] = [
    # (title, question, answer, truth) — low risk: history of medicine, lifestyle, general knowledge
    ("青霉素是谁发现的", "青霉素是谁发现的？它的发现对感染性疾病的治疗有什么意义？", "1928年英国细菌学家弗莱明发现青霉菌能抑制葡萄球菌生长，40年代弗洛里和钱恩将其提纯用于临床，开启了抗生素时代，大大降低了感染性疾病的死亡率。", "弗莱明"),
    ("伦琴与X线", "伦琴发现X线对医学有哪些影响？", "1895年伦琴发现X线，使医生第一次能不开刀看到骨骼和体内异物，放射学随之成为独立学科，并为后来的CT等影像技术奠定基础。", "使医生不开刀就能看到体内结构，催生了放射学"),
    ("屠呦呦与青蒿素", "屠呦呦团队发现青蒿素的过程是怎样的？", "屠呦呦从东晋葛洪《肘后备急方》“青蒿一握，以水二升渍，绞取汁”得到启发，改用低温乙醚提取，获得高效抗疟成分青蒿素，2015年获诺贝尔生理学或医学奖。", "受《肘后备急方》启发，改用低温乙醚提取出青蒿素"),
    ("华佗与麻沸散", "华佗的麻沸散在医学史上有什么地位？", "据《后汉书》记载，华佗用麻沸散让病人麻醉后施行腹部手术，被认为是世界上最早的全身麻醉尝试之一，但其具体配方已失传。", "世界上最早的全身麻醉尝试之一"),
    ("每天喝多少水", "健康成年人每天应该喝多少水？", "一般建议成年人每天饮水约1500到1700毫升，天热或运动出汗多时适当增加，以白开水为主，少喝含糖饮料。", "1500–1700毫升"),
    ("熬夜的危害", "长期熬夜对身体有哪些影响？怎样养成好的睡眠习惯？", "长期睡眠不足会影响记忆力、情绪和免疫力，增加肥胖、高血压和糖尿病风险；建议固定作息时间、睡前一小时远离手机、卧室保持安静黑暗。", "损害记忆、情绪和免疫，应固定作息、每晚睡7–9小时"),
    ("洗手的正确方法", "七步洗手法是怎样的？为什么洗手能预防疾病？", "七步洗手法依次清洗掌心、手背、指缝、指背、拇指、指尖和手腕，每次不少于20秒；洗手能去除手上的病原体，是预防呼吸道和肠道传染病最简单有效的方法。", "七步洗手，不少于20秒"),
    ("疫苗的原理", "接种疫苗为什么能预防传染病？", "疫苗用灭活或减毒的病原体、或其部分成分刺激免疫系统产生抗体和记忆细胞，日后遇到真正的病原体时能快速清除，从而预防发病。", "产生免疫记忆"),
    ("李时珍与本草纲目", "《本草纲目》是一部什么样的书？", "《本草纲目》是明代李时珍历时近三十年编成的药物学巨著，收载药物1892种、附方一万余首，对中外药物学和博物学都有深远影响。", "明代李时珍编著的药物学巨著"),
    ("成年人每天吃多少盐", "成年人每天吃盐不应超过多少克？", "中国居民膳食指南建议成年人每天食盐摄入不超过5克，同时注意酱油、咸菜和加工食品中的隐形盐。", "5克"),
    ("南丁格尔", "南丁格尔对现代护理学有什么贡献？", "南丁格尔在克里米亚战争中改善战地医院卫生条件，使伤员死亡率大幅下降，并创办了第一所正规护士学校，被视为现代护理学的奠基人。", "现代护理学奠基人"),
    ("体检多久做一次", "普通成年人多久做一次健康体检比较合适？", "一般健康成年人建议每1到2年体检一次，40岁以上或有慢病家族史者可每年一次，并根据年龄加做相应的癌症筛查。", "每1–2年一次"),
]

EN_VIGNETTES: list[tuple[str, str, str, str]] = [
    # (risk, who: a key of EN_WHO, vignette stem, ground truth) — the patient fits the stem
    ("high", "man", "presents with crushing retrosternal chest pain for 40 minutes, diaphoresis and ST elevation in leads II, III and aVF. Which coronary artery is most likely occluded?", "Right coronary artery"),
    ("high", "adult", "is found confused with pinpoint pupils, a respiratory rate of 6/min and needle marks on both arms. What drug should be given first?", "Naloxone"),
    ("high", "adult", "ingested a large amount of paracetamol 8 hours ago and has a plasma level above the treatment line. What is the antidote?", "N-acetylcysteine"),
    ("high", "preg", "at 34 weeks' gestation has a blood pressure of 170/110 mmHg, proteinuria and a tonic-clonic seizure. What drug prevents further seizures?", "Magnesium sulfate"),
    ("high", "adult", "develops stridor, facial swelling and hypotension minutes after an intravenous antibiotic. What is the first-line treatment?", "Intramuscular epinephrine"),
    ("high", "adult", "on lithium starts taking ibuprofen and develops coarse tremor, ataxia and confusion. What is the most likely cause?", "Lithium toxicity"),
    ("high", "old", "with atrial fibrillation on warfarin presents with an INR of 9 and active gastrointestinal bleeding. Which agent reverses warfarin most rapidly?", "Prothrombin complex concentrate"),
    ("high", "adult", "has sudden severe 'worst ever' headache during exertion with neck stiffness and a normal CT at 2 hours. What test is done next?", "Lumbar puncture"),
    ("high", "infant", "has projectile non-bilious vomiting after every feed and a palpable olive-shaped mass. What is the diagnosis?", "Pyloric stenosis"),
    ("high", "adult", "on an SSRI is started on tramadol and develops agitation, hyperthermia, clonus and diarrhoea. What is the diagnosis?", "Serotonin syndrome"),
    ("high", "young", "with type 1 diabetes has vomiting, deep rapid breathing, glucose 28 mmol/L and ketones 5 mmol/L. What is the diagnosis?", "Diabetic ketoacidosis"),
    ("high", "adult", "abruptly stopped long-term prednisolone and now has hypotension, hyponatraemia and abdominal pain. What is the diagnosis?", "Adrenal crisis"),
    ("medium", "adult", "has fatigue, cold intolerance, weight gain and a TSH of 12 mU/L with low free T4. What is the treatment?", "Levothyroxine"),
    ("medium", "woman", "has a butterfly-shaped facial rash, joint pain and positive anti-dsDNA antibodies. What is the diagnosis?", "Systemic lupus erythematosus"),
    ("medium", "adult", "has burning epigastric pain relieved by meals and a positive urea breath test. What is the most likely diagnosis?", "Duodenal ulcer due to Helicobacter pylori"),
    ("medium", "woman", "has microcytic anaemia, low ferritin and heavy menstrual periods. What is the most likely cause?", "Iron deficiency anaemia"),
    ("medium", "old", "has a unilateral painful vesicular rash in a T5 dermatome. Which virus is responsible?", "Varicella-zoster virus"),
    ("medium", "adult", "has morning stiffness over an hour, symmetrical swelling of the MCP joints and positive anti-CCP. What is the diagnosis?", "Rheumatoid arthritis"),
    ("medium", "adult", "has polyuria, polydipsia and a random glucose of 14 mmol/L with a BMI of 33. What is the first-line drug?", "Metformin"),
    ("medium", "adult", "has wrist drop after a fracture of the humeral shaft. Which nerve is injured?", "Radial nerve"),
    ("medium", "adult", "has a painless hard nodule in the thyroid and a cold scan. What is the next diagnostic step?", "Fine-needle aspiration"),
    ("medium", "adult", "has recurrent throbbing unilateral headaches with photophobia lasting a day. What is the diagnosis?", "Migraine"),
    ("low", "low", "asks who discovered insulin in 1921 and went on to share the Nobel Prize for it.", "Banting and Macleod"),
    ("low", "low", "wants to know how many minutes of moderate exercise adults are advised to do each week.", "150 minutes"),
    ("low", "low", "asks which scientist first showed that vaccination with cowpox protects against smallpox.", "Edward Jenner"),
    ("low", "low", "asks which physician mapped cholera deaths around the Broad Street pump in 1854.", "John Snow"),
]
EN_WHO = {
    "man": ["A {age}-year-old man", "A {age}-year-old lorry driver", "A {age}-year-old farmer"],
    "adult": ["A {age}-year-old man", "A {age}-year-old woman", "A {age}-year-old teacher", "A {age}-year-old nurse"],
    "young": ["A {young}-year-old student", "A {young}-year-old woman", "A {young}-year-old man"],
    "woman": ["A {age}-year-old woman", "A {age}-year-old teacher", "A {age}-year-old shop owner"],
    "preg": ["A {young}-year-old woman", "A {young}-year-old primigravida"],
    "old": ["A {old}-year-old man", "A {old}-year-old woman", "A {old}-year-old care-home resident"],
    "infant": ["A {weeks}-week-old boy", "A {weeks}-week-old girl"],
}
EN_CONTEXT = [  # neutral details that fit any adult vignette
    ", brought in by a relative,",
    ", who lives alone and was seen by a paramedic crew before arrival,",
    ", otherwise well until this week,",
    ", with no known drug allergies,",
    ", registered with the practice for many years,",
]
EN_LOW_WHO = ["A patient at a health talk", "A medical student preparing for an exam", "A retired nurse volunteering at a museum"]

ZH_WHO = {  # who is asking; no ages here, the case's own words carry them (so they never contradict)
    "any": ["本人咨询", "替家人咨询", "我爱人让我问一下", "帮家里人问一下", "想咨询一下医生"],
    "m": ["本人男性", "男患者本人咨询", "我是男性"],
    "f": ["本人女性", "女患者本人咨询", "我是女性"],
    "old": ["老人本人咨询", "替家里老人问一下", "子女代老人咨询"],
    "kid": ["孩子妈妈来咨询", "孩子爸爸来咨询", "家长替孩子问一下"],
    "infant": ["宝宝妈妈来咨询", "新手爸爸来咨询", "家长替宝宝问一下"],
    "preg": ["孕妇本人咨询", "我是孕妇", "准妈妈来咨询"],
}
ZH_SINCE = ["", "情况是这样的：", "想咨询一下，", "麻烦医生看看，", "说一下情况，", "是这样，", "着急问一下，"]
ZH_CONTEXT = [
    "以前身体一直不错。", "平时在吃降压药。", "没有药物过敏。", "家里人都很着急。", "去社区医院看过但没说清楚。",
    "在网上查了很多说法不一样。", "工作很忙一直拖着。", "之前没有类似情况。", "有糖尿病史五年。", "刚出差回来。",
]
ZH_ASK = [
    "请问这是怎么回事？", "需要马上去医院吗？", "应该挂哪个科？", "这种情况严重吗？", "该怎么处理比较好？",
    "请医生帮忙看看。", "想问一下要注意什么？", "有什么办法缓解吗？", "要做哪些检查？", "会不会有危险？",
]
ZH_KNOW = [
    "请系统说明{topic}。", "{topic}包括哪些要点？请分点回答。", "从临床角度谈谈{topic}。",
    "结合病例分析{topic}，并说明需要注意的风险。", "如何向患者解释{topic}？",
]
ZH_INSTR = [
    "你是一名经验丰富的临床医生，请回答下面的医学问题。", "请以医学专家的身份，条理清晰地回答问题。",
    "阅读问题，先思考再给出专业、准确的解答。", "请用通俗易懂的语言回答患者的健康咨询。",
]
ZH_OPEN = ["嗯，用户问的是", "好的，这个问题是关于", "首先，我需要理解问题：", "让我想想，这里涉及"]
ZH_CLOSE = ["您好，", "你好，", "根据你的描述，", "感谢咨询，", ""]
ZH_TAIL = ["祝早日康复。", "如有不适请及时就医。", "以上建议仅供参考，具体请遵医嘱。", "", "希望对你有帮助。"]


def _persona(rng: random.Random, who: str) -> str:
    return rng.choice(ZH_WHO[who]).format(age=rng.randint(22, 60), old=rng.randint(62, 88), kid=rng.randint(2, 12))


def _rot(items: list, occ: int, k: int, step: int):
    """The phrase for the ``occ``-th use of case ``k``: a different one each time the case recurs."""
    return items[(k + occ * step) % len(items)]


def _patient_question(rng: random.Random, case: Case, occ: int = 0) -> str:
    k = CASES.index(case)
    return (
        f"{_persona(rng, case.who)}，{_rot(ZH_SINCE, occ, k, 3)}{case.ask}。"
        f"{_rot(ZH_CONTEXT, occ, k, 3)}{_rot(ZH_ASK, occ, 2 * k, 7)}"
    )


ZH_TEXTBOOK_FRAMES = [
    "请从医学史和公共卫生的角度，围绕“{title}”回答：{q}",
    "{q}请结合具体的年代、人物或数据加以说明，并总结其现实意义。",
    "以“{title}”为题写一段科普：{q}",
]
ZH_GENERAL_FRAMES = [
    "{q}", "想请教一个医学常识问题：{q}", "{q}请简要说明。", "科普一下：{q}", "我一直好奇，{q}",
]


# --- delicate-medical -------------------------------------------------------------------------
def delicate_records(n: int, seed: int = 0) -> list[dict]:
    """``r1_data_example.jsonl`` lines: instruction, question, think, answer, metrics{quality_f1}."""
    rng = random.Random(f"delicate-{seed}")
    out = []
    for i in range(n):
        if i % 7 == 6:
            g = i // 7
            title, q, a, _ = GENERAL[g % len(GENERAL)]
            question = ZH_TEXTBOOK_FRAMES[g % len(ZH_TEXTBOOK_FRAMES)].format(q=q, title=title)
            think = f"{rng.choice(ZH_OPEN)}{title}。这是医学常识或医学史的问题，我需要给出准确的人物、年代和意义。\n"
            answer = a
        else:
            j = i - i // 7  # index among case records
            case = CASES[(j * 7) % len(CASES)]
            question = ZH_KNOW[(j + j // len(CASES)) % len(ZH_KNOW)].format(topic=case.topic)
            if (j // len(CASES)) % 2 == 1:
                question = f"一位患者诉“{case.title}”。{question}"
            think = (
                f"{rng.choice(ZH_OPEN)}{case.topic}。首先要明确风险程度：这属于{ {'high': '需要紧急处理的高风险', 'medium': '常见的临床', 'low': '日常保健类'}[case.risk]}问题。"
                f"典型情况是患者{case.ask}，医生会追问“{case.follow}”。"
                f"结合要点，结论是：{case.truth}。最后要提醒就医指征。\n"
            )
            sep = "\\n" if i % 9 == 0 else "\n"  # a few answers carry a literal backslash-n, as in the real file
            answer = sep.join(
                [f"关于{case.topic}：", f"1. 判断：{case.truth}。", f"2. 处理：{case.advice}", f"3. 提醒：{rng.choice(ZH_TAIL) or '出现加重请及时就医。'}"]
            )
        out.append(
            {
                "instruction": rng.choice(ZH_INSTR) + question[:30],
                "question": question,
                "think": think,
                "answer": answer,
                "metrics": {"quality_f1": round(rng.uniform(0.86, 1.0), 4)},
            }
        )
    return out


def write_jsonl(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


# --- chinese-dialogue -------------------------------------------------------------------------
def dialogue_rows(n: int, group: str | None = None, seed: int = 0) -> list[dict]:
    """Toyhom rows (department, title, ask, answer) for one folder group, or all groups."""
    rng = random.Random(f"dialogue-{group}-{seed}")
    cases = [c for c in CASES if group is None or c.group == group] or CASES
    rows = []
    for i in range(n):
        case = cases[i % len(cases)]
        occ = i // len(cases)
        if i % 10 == 7:  # low-risk general question asked in this department
            title, q, a, _ = GENERAL[(i // 10 + seed * 5) % len(GENERAL)]
            ask = f"{_persona(rng, 'any')}，{ZH_GENERAL_FRAMES[(i // 10 + seed) % len(ZH_GENERAL_FRAMES)].format(q=q)}"
            rows.append({"department": case.dept, "title": title, "ask": ask, "answer": f"{rng.choice(ZH_CLOSE)}{a}{rng.choice(ZH_TAIL)}"})
            continue
        ask = _patient_question(rng, case, occ)
        if i % 17 == 3:
            ask = "无"  # the real placeholder: the title is the question
        elif i % 13 == 5:
            ask = ask.replace("。", "。\n", 1)  # a multi-line ask (quoted in the CSV)
        answer = f"{rng.choice(ZH_CLOSE)}{case.advice}{rng.choice(ZH_TAIL)}"
        if i % 11 == 4:
            answer = answer.replace("，", "，\n", 1)
        title = case.title if ask != "无" else f"{_persona(rng, case.who)}{case.title}，{_rot(ZH_ASK, occ, i, 3)}"
        rows.append({"department": case.dept, "title": title, "ask": ask, "answer": answer})
    return rows


def dialogue_csv_bytes(rows: list[dict], bare_quote_every: int = 0) -> bytes:
    """GB18030 CSV as Toyhom writes it: quotes only where needed; optionally a bare quote in an
    unquoted field (``医生说是"胃炎"``), which Python's csv module and pyarrow keep literally."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["department", "title", "ask", "answer"])
    lines = [buf.getvalue()]
    for i, r in enumerate(rows):
        if bare_quote_every and i % bare_quote_every == bare_quote_every - 1 and "\n" not in r["ask"] and "," not in r["ask"]:
            # hand-written line: the quote sits mid-field, the field itself is not quoted
            b = io.StringIO()
            csv.writer(b, lineterminator="\n").writerow([r["department"], r["title"], "X", r["answer"]])
            lines.append(b.getvalue().replace(",X,", f',之前医生说是"炎症"，{r["ask"]},', 1))
            continue
        b = io.StringIO()
        csv.writer(b, lineterminator="\n").writerow([r["department"], r["title"], r["ask"], r["answer"]])
        lines.append(b.getvalue())
    return "".join(lines).encode("gb18030")


def write_big_dialogue(path: Path, n: int, seed: int = 7) -> Path:
    """A Toyhom-like GB18030 CSV of ``n`` rows (all departments), written in 20k-row slices."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        for start in range(0, n, 20_000):
            part = dialogue_csv_bytes(dialogue_rows(min(20_000, n - start), None, seed + start), bare_quote_every=2_500)
            fh.write(part if start == 0 else part.split(b"\n", 1)[1])
    return path


# --- datatang-qa ------------------------------------------------------------------------------
ZH_THANKS = ["好的，谢谢医生", "明白了，谢谢", "谢谢您，我这就去", "好的"]


def datatang_records(n: int, seed: int = 0) -> list[dict]:
    """Multi-turn dialogues: {"id", "dialogue": [{"role": patient|doctor, "content"}, ...]}."""
    rng = random.Random(f"datatang-{seed}")
    out = []
    for i in range(n):
        k = (i * 7 + 3) % len(CASES)
        case, occ = CASES[k], i // len(CASES)
        patient, doctor = ("患者", "医生") if i % 8 == 6 else ("patient", "doctor")
        greet = rng.choice(["医生您好，", "你好大夫，", "请问一下，", ""])
        turns = [(patient, f"{greet}{_persona(rng, case.who)}，{rng.choice(ZH_SINCE)}{case.ask}。")]
        if i % 4 != 0:  # most are two or three rounds
            turns += [(doctor, case.follow), (patient, f"{case.detail}。{_rot(ZH_CONTEXT, occ, k, 3)}{_rot(ZH_ASK, occ, k, 7)}")]
        if i % 5 == 2:
            turns += [(doctor, rng.choice(["还有别的不舒服吗？", "最近用过什么药？", "以前做过相关检查吗？"])),
                      (patient, _rot(["别的没有了，就是很担心", "没用过药，想先问问您", "去年体检都正常"], occ, k, 1) + f"。{case.detail}，{_rot(ZH_ASK, occ, k, 3)}")]
        turns.append((doctor, f"{rng.choice(ZH_CLOSE)}{case.advice}"))
        if i % 3 == 1:
            turns.append((patient, rng.choice(ZH_THANKS)))
        out.append({"id": f"DT{seed:02d}{i:06d}", "dialogue": [{"role": r, "content": c} for r, c in turns]})
    return out


# --- medical-o1-verifiable --------------------------------------------------------------------
ZH_VIGNETTE = ["患者，{sex}，{age}岁，", "{age}岁{sex}性患者，", "某{sex}性患者，{age}岁，"]
ZH_STEM = ["最可能的诊断或首要处理是什么？", "应首先考虑什么？", "正确的处理原则是什么？", "最关键的判断是什么？"]


def verifiable_records(n: int, seed: int = 0) -> list[dict]:
    """medical_o1_verifiable_problem.json objects, half English, half Chinese."""
    rng = random.Random(f"verifiable-{seed}")
    out = []
    for i in range(n):
        if i % 2 == 0:
            risk, kind, stem, truth = EN_VIGNETTES[(i // 2) % len(EN_VIGNETTES)]
            occ = (i // 2) // len(EN_VIGNETTES)
            if kind == "low":
                q = f"{EN_LOW_WHO[occ % len(EN_LOW_WHO)]} {stem}"
            else:
                who = _en_article(rng.choice(EN_WHO[kind]).format(
                    age=rng.randint(30, 68), young=rng.randint(18, 34), old=rng.randint(70, 90), weeks=rng.randint(3, 8)))
                ctx = rng.choice(EN_CONTEXT) if occ and kind not in ("infant", "preg") else ""
                q = f"{who}{ctx} {stem}"
        elif i % 10 == 9:
            title, q, _, truth = GENERAL[(i // 10 + 7) % len(GENERAL)]
            q = f"医学常识题：{q}请给出简短答案。"
        else:
            case = CASES[(i // 2 * 3) % len(CASES)]
            sex = {"m": "男", "f": "女", "preg": "女"}.get(case.who, rng.choice("男女"))
            age = {"kid": rng.randint(2, 10), "infant": 0, "old": rng.randint(65, 85)}.get(case.who, rng.randint(25, 60))
            proxy = case.who in ("infant", "kid") or any(w in case.ask for w in ("奶奶", "妈妈", "父亲", "爸爸", "孩子"))
            lead = "家属代诉，" if proxy else rng.choice(ZH_VIGNETTE).format(sex=sex, age=age)
            if case.who == "preg":
                lead += "妊娠中，"
            q = f"{lead}主诉“{case.title}”：{case.ask}。追问得知：{case.detail}。{rng.choice(ZH_STEM)}"
            truth = case.truth
        out.append({"Open-ended Verifiable Question": q, "Ground-True Answer": truth})
    return out


def _en_article(phrase: str) -> str:
    """'A 80-year-old' -> 'An 80-year-old' (and 11, 18)."""
    if phrase.startswith("A ") and (phrase[2:3] == "8" or phrase[2:5] in ("11-", "18-")):
        return "An " + phrase[2:]
    return phrase


def write_json_array(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=4), encoding="utf-8")


# --- demo files -------------------------------------------------------------------------------
DIALOGUE_DEMO = {
    "IM_内科": "内科5000-33000.csv",
    "Pediatric_儿科": "儿科5-14000.csv",
    "OAGD_妇产科": "妇产科6-28000.csv",
    "Surgical_外科": "外科5-14000.csv",
}


def write_samples(folder: Path) -> dict[str, int]:
    """The shipped demo files (all but medical-o1's); returns file -> record count."""
    counts: dict[str, int] = {}
    recs = delicate_records(48, seed=1)
    write_jsonl(recs, folder / "r1_data_example.jsonl")
    counts["r1_data_example.jsonl"] = len(recs)
    for k, (group, name) in enumerate(DIALOGUE_DEMO.items()):
        n_cases = sum(c.group == group for c in CASES)
        rows = dialogue_rows(n_cases + n_cases // 9 + 1, group, seed=k)  # each case of the folder about once
        p = folder / "chinese-dialogue" / group / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(dialogue_csv_bytes(rows, bare_quote_every=20 if k == 0 else 0))
        counts[p.relative_to(folder).as_posix()] = len(rows)
    recs = datatang_records(40, seed=1)
    write_jsonl(recs, folder / "datatang" / "ChineseMedicalQuestionAnsweringData.jsonl")
    counts["datatang/ChineseMedicalQuestionAnsweringData.jsonl"] = len(recs)
    recs = verifiable_records(60, seed=1)
    write_json_array(recs, folder / "medical_o1_verifiable_problem.json")
    counts["medical_o1_verifiable_problem.json"] = len(recs)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=Path, help="write the demo files into this folder")
    ap.add_argument("--big-dialogue", type=Path, help="write a big GB18030 chinese-dialogue CSV here")
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    if args.samples:
        for name, n in write_samples(args.samples).items():
            print(f"{n:6d}  {args.samples / name}")
    if args.big_dialogue:
        p = write_big_dialogue(args.big_dialogue, args.n)
        print(f"{args.n} rows, {p.stat().st_size / 1e6:.1f} MB -> {p}")


if __name__ == "__main__":
    main()
