package router

// The short texts of the Telegram conversation that are built from records
// (a /status list, prompts of the staff flow). The longer ones with their
// own layout (acknowledgement, greeting, owner's card) are notify's
// templates. Every text exists in ru, lt and en; phrase falls back to en.

type phraseKey int

const (
	phNewPrompt phraseKey = iota
	phStatusHead
	phStatusNone
	phPhoneSaved
	phLinkUsage
	phLinkSent
	phLinkLimited
	phLinkDone
	phLinkBadCode
	phLinkExpired
	phLinkOwn
	phLinkHasEmail
	phStaffHelp
	phStaffRefused
	phStaffUnknown
	phStaffReplyPrompt
	phStaffNotePrompt
	phStaffReassignPick
	phStaffResolveKind
	phStaffResolveAmount
	phStaffResolveCause
	phStaffResolveBonus
	phStaffResolvePrevention
	phStaffBadAmount
	phStaffCancelled
	phStaffExpired
	phStaffDone
	phStaffFailed
	phStaffNoTeam
)

var phrases = map[string]map[phraseKey]string{
	LangEnglish: {
		phNewPrompt:              "Please describe your new complaint in your next message; it will get a number of its own.",
		phStatusHead:             "Your open complaints:",
		phStatusNone:             "You have no open complaints. To start one, describe the problem in a message.",
		phPhoneSaved:             "Thank you, we have saved your phone number.",
		phLinkUsage:              "To join your email history to this chat, send /link followed by the number of a complaint you sent by email, e.g. /link C-2026-000123.",
		phLinkSent:               "If that complaint is yours, we have sent a 6-digit code to the email address it came from. Send it here as /link 123456 within 15 minutes.",
		phLinkLimited:            "Too many link requests. Please try again later.",
		phLinkDone:               "Done: this chat and your email now share one history.",
		phLinkBadCode:            "That code is not right. Please check the email and try again.",
		phLinkExpired:            "There is no valid code waiting. Send /link with your complaint number to get a new one.",
		phLinkOwn:                "This complaint is already linked to this chat.",
		phLinkHasEmail:           "This chat is already linked to an email address. Please write to us by email to change it.",
		phStaffHelp:              "You are registered as staff. Use the buttons under a complaint card, or /take, /note, /reply, /reassign, /resolve, /advance [stage], /approve [amount currency] followed by a complaint number. /cancel stops a pending step.",
		phStaffRefused:           "This action is only for staff.",
		phStaffUnknown:           "No such complaint.",
		phStaffReplyPrompt:       "Send your reply to the customer of %s as your next message. /cancel to stop.",
		phStaffNotePrompt:        "Send the note for %s as your next message. /cancel to stop.",
		phStaffReassignPick:      "Reassign %s to:",
		phStaffResolveKind:       "Resolve %s: choose the resolution.",
		phStaffResolveAmount:     "%s: the amount (e.g. 25.50), or - for none.",
		phStaffResolveCause:      "%s: what was the root cause?",
		phStaffResolveBonus:      "%s: which consolation bonus (from the agreed list)?",
		phStaffResolvePrevention: "%s: what should we change so that it does not happen again?",
		phStaffBadAmount:         "That is not an amount. Send a number such as 25.50, or - for none.",
		phStaffCancelled:         "Cancelled.",
		phStaffExpired:           "That step timed out; press the button again.",
		phStaffDone:              "Done: %s %s.",
		phStaffFailed:            "Not done: %s %s: %s",
		phStaffNoTeam:            "Nobody else is available to take it.",
	},
	LangRussian: {
		phNewPrompt:              "Опишите новую жалобу следующим сообщением — она получит свой номер.",
		phStatusHead:             "Ваши открытые обращения:",
		phStatusNone:             "У вас нет открытых обращений. Чтобы подать жалобу, опишите проблему в сообщении.",
		phPhoneSaved:             "Спасибо, мы сохранили ваш номер телефона.",
		phLinkUsage:              "Чтобы объединить переписку по email с этим чатом, отправьте /link и номер обращения, которое вы отправили по email, например /link C-2026-000123.",
		phLinkSent:               "Если это обращение ваше, мы отправили 6-значный код на адрес email, с которого оно пришло. Отправьте его сюда как /link 123456 в течение 15 минут.",
		phLinkLimited:            "Слишком много запросов. Попробуйте позже.",
		phLinkDone:               "Готово: этот чат и ваш email теперь имеют общую историю.",
		phLinkBadCode:            "Код неверный. Проверьте письмо и попробуйте ещё раз.",
		phLinkExpired:            "Действующего кода нет. Отправьте /link с номером обращения, чтобы получить новый.",
		phLinkOwn:                "Это обращение уже связано с этим чатом.",
		phLinkHasEmail:           "Этот чат уже связан с адресом email. Чтобы изменить его, напишите нам по email.",
		phStaffHelp:              "Вы зарегистрированы как сотрудник. Используйте кнопки под карточкой обращения или /take, /note, /reply, /reassign, /resolve, /advance [этап], /approve [сумма валюта] с номером обращения. /cancel отменяет начатый шаг.",
		phStaffRefused:           "Это действие доступно только сотрудникам.",
		phStaffUnknown:           "Такого обращения нет.",
		phStaffReplyPrompt:       "Отправьте ответ клиенту по %s следующим сообщением. /cancel — отмена.",
		phStaffNotePrompt:        "Отправьте заметку к %s следующим сообщением. /cancel — отмена.",
		phStaffReassignPick:      "Передать %s:",
		phStaffResolveKind:       "Решение по %s: выберите вид.",
		phStaffResolveAmount:     "%s: сумма (например 25.50) или - если её нет.",
		phStaffResolveCause:      "%s: какова первопричина?",
		phStaffResolveBonus:      "%s: какой утешительный бонус (из согласованного списка)?",
		phStaffResolvePrevention: "%s: что изменить, чтобы это не повторилось?",
		phStaffBadAmount:         "Это не сумма. Отправьте число, например 25.50, или -.",
		phStaffCancelled:         "Отменено.",
		phStaffExpired:           "Время шага истекло; нажмите кнопку ещё раз.",
		phStaffDone:              "Готово: %s %s.",
		phStaffFailed:            "Не выполнено: %s %s: %s",
		phStaffNoTeam:            "Больше никто не может его принять.",
	},
	LangLithuanian: {
		phNewPrompt:              "Naują skundą aprašykite kita žinute – jis gaus atskirą numerį.",
		phStatusHead:             "Jūsų atviri kreipimaisi:",
		phStatusNone:             "Atvirų kreipimųsi neturite. Norėdami pateikti skundą, aprašykite problemą žinute.",
		phPhoneSaved:             "Ačiū, Jūsų telefono numerį išsaugojome.",
		phLinkUsage:              "Norėdami sujungti el. pašto susirašinėjimą su šiuo pokalbiu, išsiųskite /link ir el. paštu pateikto kreipimosi numerį, pvz. /link C-2026-000123.",
		phLinkSent:               "Jei šis kreipimasis Jūsų, išsiuntėme 6 skaitmenų kodą el. pašto adresu, iš kurio jis atėjo. Per 15 minučių atsiųskite jį čia kaip /link 123456.",
		phLinkLimited:            "Per daug užklausų. Bandykite vėliau.",
		phLinkDone:               "Atlikta: šis pokalbis ir Jūsų el. paštas dabar turi bendrą istoriją.",
		phLinkBadCode:            "Kodas neteisingas. Patikrinkite laišką ir bandykite dar kartą.",
		phLinkExpired:            "Galiojančio kodo nėra. Išsiųskite /link su kreipimosi numeriu, kad gautumėte naują.",
		phLinkOwn:                "Šis kreipimasis jau susietas su šiuo pokalbiu.",
		phLinkHasEmail:           "Šis pokalbis jau susietas su el. pašto adresu. Norėdami jį pakeisti, parašykite mums el. paštu.",
		phStaffHelp:              "Esate užregistruotas kaip darbuotojas. Naudokite mygtukus po kreipimosi kortele arba /take, /note, /reply, /reassign, /resolve, /advance [etapas], /approve [suma valiuta] su kreipimosi numeriu. /cancel nutraukia pradėtą žingsnį.",
		phStaffRefused:           "Šis veiksmas skirtas tik darbuotojams.",
		phStaffUnknown:           "Tokio kreipimosi nėra.",
		phStaffReplyPrompt:       "Atsakymą klientui dėl %s išsiųskite kita žinute. /cancel – atšaukti.",
		phStaffNotePrompt:        "Pastabą dėl %s išsiųskite kita žinute. /cancel – atšaukti.",
		phStaffReassignPick:      "Perduoti %s:",
		phStaffResolveKind:       "%s sprendimas: pasirinkite rūšį.",
		phStaffResolveAmount:     "%s: suma (pvz. 25.50) arba -, jei jos nėra.",
		phStaffResolveCause:      "%s: kokia pagrindinė priežastis?",
		phStaffResolveBonus:      "%s: kokia paguodos dovana (iš suderinto sąrašo)?",
		phStaffResolvePrevention: "%s: ką pakeisti, kad tai nepasikartotų?",
		phStaffBadAmount:         "Tai ne suma. Atsiųskite skaičių, pvz. 25.50, arba -.",
		phStaffCancelled:         "Atšaukta.",
		phStaffExpired:           "Žingsnio laikas baigėsi; paspauskite mygtuką dar kartą.",
		phStaffDone:              "Atlikta: %s %s.",
		phStaffFailed:            "Neatlikta: %s %s: %s",
		phStaffNoTeam:            "Niekas kitas negali jo perimti.",
	},
}

// stageNames are the customer-facing names of the stages.
var stageNames = map[string]map[string]string{
	LangEnglish: {
		"registered": "registered", "analysis": "being analysed", "corrective_action": "being put right",
		"resolved": "resolved", "closed": "closed",
	},
	LangRussian: {
		"registered": "зарегистрировано", "analysis": "на рассмотрении", "corrective_action": "исправляем",
		"resolved": "решено", "closed": "закрыто",
	},
	LangLithuanian: {
		"registered": "užregistruotas", "analysis": "nagrinėjamas", "corrective_action": "taisoma",
		"resolved": "išspręstas", "closed": "uždarytas",
	},
}

// phrase is key's text in lang, English when lang has none.
func phrase(lang string, key phraseKey) string {
	if s, ok := phrases[lang][key]; ok {
		return s
	}
	return phrases[LangEnglish][key]
}

// stageName is a stage as the customer reads it; an unknown stage (a
// later workflow's) is shown as it is.
func stageName(lang, stage string) string {
	if s, ok := stageNames[lang][stage]; ok {
		return s
	}
	if s, ok := stageNames[LangEnglish][stage]; ok {
		return s
	}
	return stage
}
