package synth

import "strings"

// surnames are the commonest Chinese family names, most frequent first,
// with rough relative frequencies (per mille of the population).
var surnames = []struct {
	name string
	w    float64
}{
	{"王", 72}, {"李", 72}, {"张", 68}, {"刘", 54}, {"陈", 45}, {"杨", 31}, {"赵", 23},
	{"黄", 23}, {"周", 21}, {"吴", 20}, {"徐", 17}, {"孙", 16}, {"胡", 13}, {"朱", 13},
	{"高", 13}, {"林", 12}, {"何", 12}, {"郭", 11}, {"马", 11}, {"罗", 9}, {"梁", 8},
	{"宋", 8}, {"郑", 8}, {"谢", 7}, {"韩", 7}, {"唐", 6}, {"冯", 6}, {"于", 6},
	{"董", 6}, {"萧", 5}, {"程", 5}, {"曹", 5}, {"袁", 5}, {"邓", 5}, {"许", 5},
	{"傅", 4}, {"沈", 4}, {"曾", 4}, {"彭", 4}, {"吕", 4}, {"苏", 4}, {"卢", 4},
	{"蒋", 4}, {"蔡", 4}, {"贾", 3}, {"丁", 3}, {"魏", 3}, {"薛", 3}, {"叶", 3},
	{"阎", 3}, {"欧阳", 1}, {"司马", 0.2},
}

var surnameCum = func() []float64 {
	w := make([]float64, len(surnames))
	for i, s := range surnames {
		w[i] = s.w
	}
	return cumulative(w)
}()

// Characters of given names, by sex.
var (
	maleGiven   = []rune("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志文博海峰龙东亮晨阳")
	femaleGiven = []rune("芳娜敏静丽艳娟霞秀玲桂英华红梅琳颖雪婷倩慧莉燕萍晶洁佳琪欣怡雨萱悦")
	brandChars  = []rune("鑫源恒瑞华兴盛达宏泰安康金丰永利新宇博远嘉和汇通天成中海明德润晟诚信")
)

// personName is a plausible Chinese name: a family name and one or two
// given-name characters (two in three quarters of cases).
func personName(r *rng, male bool) string {
	var b strings.Builder
	b.WriteString(surnames[pick(surnameCum, r.float())].name)
	given := femaleGiven
	if male {
		given = maleGiven
	}
	b.WriteRune(given[r.intn(len(given))])
	if r.float() < 0.75 {
		b.WriteRune(given[r.intn(len(given))])
	}
	return b.String()
}

var (
	companyTrades = []string{"科技", "商贸", "餐饮管理", "建筑工程", "文化传媒", "物业管理", "信息技术", "医药", "教育咨询", "物流", "房地产经纪", "电子商务"}
	shopTrades    = []string{"便利店", "餐馆", "水果店", "理发店", "五金店", "服装店", "小吃店", "超市", "洗衣店", "维修部"}
	unitTrades    = []string{"培训学校", "养老服务中心", "社会工作服务中心", "幼儿园", "文化发展中心"}
)

// orgName is a plausible name for an organisation of the given USCC type
// in a district.
func orgName(r *rng, typ, district string) string {
	brand := string([]rune{brandChars[r.intn(len(brandChars))], brandChars[r.intn(len(brandChars))]})
	d := districtChinese[district]
	switch typ {
	case "92":
		return "北京市" + d + "区" + brand + shopTrades[r.intn(len(shopTrades))]
	case "93":
		return "北京市" + d + "区" + brand + "农民专业合作社"
	case "52":
		return "北京市" + d + "区" + brand + unitTrades[r.intn(len(unitTrades))]
	}
	return "北京" + brand + companyTrades[r.intn(len(companyTrades))] + "有限公司"
}
