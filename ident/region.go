package ident

// provinces maps the 34 province-level GB/T 2260 codes to English names.
var provinces = [100]string{
	11: "Beijing",
	12: "Tianjin",
	13: "Hebei",
	14: "Shanxi",
	15: "Inner Mongolia",
	21: "Liaoning",
	22: "Jilin",
	23: "Heilongjiang",
	31: "Shanghai",
	32: "Jiangsu",
	33: "Zhejiang",
	34: "Anhui",
	35: "Fujian",
	36: "Jiangxi",
	37: "Shandong",
	41: "Henan",
	42: "Hubei",
	43: "Hunan",
	44: "Guangdong",
	45: "Guangxi",
	46: "Hainan",
	50: "Chongqing",
	51: "Sichuan",
	52: "Guizhou",
	53: "Yunnan",
	54: "Tibet",
	61: "Shaanxi",
	62: "Gansu",
	63: "Qinghai",
	64: "Ningxia",
	65: "Xinjiang",
	71: "Taiwan",
	81: "Hong Kong",
	82: "Macao",
}

// provinceCode returns the English name of a two-digit province code, or ""
// if code is not two digits or not a province-level code. It never allocates.
func provinceCode(code string) string {
	if len(code) != 2 || !isDigit(code[0]) || !isDigit(code[1]) {
		return ""
	}
	return provinces[int(code[0]-'0')*10+int(code[1]-'0')]
}

// ProvinceName returns the English name of a two-digit GB/T 2260
// province-level code ("11" is "Beijing"), or "" for an unknown code.
func ProvinceName(code2 string) string { return provinceCode(code2) }

// BeijingDistricts lists the GB/T 2260 codes of Beijing's 16 districts.
var BeijingDistricts = []string{
	"110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
	"110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119",
}

// DistrictName returns the English name of one of Beijing's 16 districts
// from its six-digit GB/T 2260 code, or "" for any other code.
func DistrictName(region6 string) string {
	switch region6 {
	case "110101":
		return "Dongcheng"
	case "110102":
		return "Xicheng"
	case "110105":
		return "Chaoyang"
	case "110106":
		return "Fengtai"
	case "110107":
		return "Shijingshan"
	case "110108":
		return "Haidian"
	case "110109":
		return "Mentougou"
	case "110111":
		return "Fangshan"
	case "110112":
		return "Tongzhou"
	case "110113":
		return "Shunyi"
	case "110114":
		return "Changping"
	case "110115":
		return "Daxing"
	case "110116":
		return "Huairou"
	case "110117":
		return "Pinggu"
	case "110118":
		return "Miyun"
	case "110119":
		return "Yanqing"
	}
	return ""
}
