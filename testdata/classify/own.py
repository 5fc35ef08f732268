"""Our own Russian, Lithuanian and English customer messages with labels.

Two disjoint pools: POOL["dev"] is what the rules were written from; POOL["test"] was
written separately (other sentences, products, wants phrasing, numbers) and is held out.
A message is put together from a greeting, a core sentence (category + cause), an
optional money sentence (amount + currency in one of the many ways people write it), an
optional wants sentence and a closing. Labels follow from the parts used.
"""

# ---------------------------------------------------------------- amounts
def grp(n, sep):
    s = str(n)
    out = []
    while len(s) > 3:
        out.insert(0, s[-3:])
        s = s[:-3]
    out.insert(0, s)
    return sep.join(out)


def money(lang, rng):
    """Returns (text, canonical amount, ISO currency)."""
    n = rng.choice([350, 890, 1200, 1500, 2490, 4300, 7800, 12000, 15000, 23500, 48000, 120000])
    small = rng.choice([12, 35, 49, 75, 120, 149, 260, 399, 640, 1250, 2300])
    cents = rng.choice(["99", "50", "45", "10"])
    thou = rng.choice([("1,5", "1500"), ("2", "2000"), ("3,2", "3200"), ("12", "12000"), ("2,5", "2500")])
    if lang == "ru":
        styles = [
            lambda: (grp(n, " ") + " руб.", str(n), "RUB"),
            lambda: (str(n) + "р", str(n), "RUB"),
            lambda: (grp(n, " ") + " рублей", str(n), "RUB"),
            lambda: (grp(n, "\u00a0") + " ₽", str(n), "RUB"),
            lambda: (thou[0] + " тыс. рублей", thou[1], "RUB"),
            lambda: (thou[0] + " тыс. руб", thou[1], "RUB"),
            lambda: (str(n) + " RUB", str(n), "RUB"),
            lambda: (grp(n, " ") + " р.", str(n), "RUB"),
            lambda: (str(small) + " евро", str(small), "EUR"),
            lambda: ("$" + str(small), str(small), "USD"),
            lambda: (str(small) + " долларов", str(small), "USD"),
            lambda: (str(n) + "," + cents + " руб.", "%d.%s" % (n, cents.rstrip("0")), "RUB"),
        ]
    elif lang == "lt":
        styles = [
            lambda: (str(small) + " eurų", str(small), "EUR"),
            lambda: (str(small) + " EUR", str(small), "EUR"),
            lambda: ("€" + str(small), str(small), "EUR"),
            lambda: (str(small) + " €", str(small), "EUR"),
            lambda: (str(small) + "," + cents + " €", "%d.%s" % (small, cents.rstrip("0")), "EUR"),
            lambda: (str(small) + " Eur", str(small), "EUR"),
            lambda: (str(small) + " eurus", str(small), "EUR"),
            lambda: (grp(n, " ") + " eurų", str(n), "EUR"),
            lambda: (str(small) + " eur.", str(small), "EUR"),
            lambda: (thou[0] + " tūkst. eurų", thou[1], "EUR"),
            lambda: (str(small) + "," + cents + " Eur", "%d.%s" % (small, cents.rstrip("0")), "EUR"),
        ]
    else:
        styles = [
            lambda: ("$" + str(small), str(small), "USD"),
            lambda: ("$%d.%s" % (small, cents), "%d.%s" % (small, cents.rstrip("0")), "USD"),
            lambda: ("€" + str(small), str(small), "EUR"),
            lambda: (str(small) + " EUR", str(small), "EUR"),
            lambda: ("£" + str(small), str(small), "GBP"),
            lambda: ("$" + grp(n, ","), str(n), "USD"),
            lambda: (str(small) + " dollars", str(small), "USD"),
            lambda: ("USD " + str(small), str(small), "USD"),
            lambda: (str(small) + " euros", str(small), "EUR"),
            lambda: ("%d,%s €" % (small, cents), "%d.%s" % (small, cents.rstrip("0")), "EUR"),
        ]
    return rng.choice(styles)()


# ---------------------------------------------------------------- pools
# complaints[category] = [(core sentence, cause)]; "{o}" is an order number, "{d}" a count of days.
POOL = {"dev": {}, "test": {}}

POOL["dev"]["ru"] = {
    "greet": ["Здравствуйте!", "Добрый день.", "Здравствуйте, ", "", "Добрый вечер!"],
    "close": ["", "С уважением, Ирина.", "Спасибо.", "Жду ответа.", "Андрей Петров, тел. +7 916 123-45-67"],
    "subjects": ["Жалоба", "Претензия по заказу {o}", "", "Заказ №{o}", "Проблема с заказом", "Re: ваш заказ"],
    "complaints": {
        "quality": [
            ("Купил у вас чайник, через неделю он перестал включаться.", "objective"),
            ("Телевизор, заказ №{o}, не работает: экран остаётся чёрным.", "objective"),
            ("Пришла куртка с браком — шов на рукаве разошёлся после первой носки.", "objective"),
            ("Пылесос сломался на второй день использования.", "objective"),
            ("Стиральная машина течёт, хотя ей всего месяц.", "objective"),
            ("Ожидала гораздо лучшего качества, ткань тонкая и выглядит дёшево.", "subjective"),
            ("Диван совсем не такой удобный, как я думал, разочарован покупкой.", "subjective"),
            ("Наушники шипят и отключаются, это явный дефект.", "objective"),
        ],
        "delivery": [
            ("Заказ №{o} должны были доставить ещё {d} дня назад, но его до сих пор нет.", "objective"),
            ("Курьер не приехал в назначенное время, я прождал весь день.", "objective"),
            ("Мне привезли не тот товар: заказывал синий, пришёл красный.", "objective"),
            ("В посылке не хватает двух позиций из заказа.", "objective"),
            ("Доставка опоздала на {d} дней, никто не предупредил.", "objective"),
            ("Посылка пришла вскрытой и помятой.", "objective"),
            ("Мастер не пришёл на замер, хотя мы договорились на 10 утра.", "objective"),
        ],
        "service": [
            ("Ваш оператор нагрубил мне по телефону и бросил трубку.", "subjective"),
            ("Третий раз пишу в поддержку, мне никто не отвечает.", "subjective"),
            ("Обещали перезвонить, но так и не перезвонили.", "subjective"),
            ("Продавец в магазине на Ленина вёл себя хамски.", "subjective"),
            ("Менеджер игнорирует мои письма уже неделю.", "subjective"),
            ("Очень недоволен обслуживанием в вашем салоне, персонал грубый.", "subjective"),
        ],
        "billing": [
            ("С моей карты дважды списали оплату за заказ №{o}.", "objective"),
            ("Мне выставили счёт на большую сумму, чем было в договоре.", "objective"),
            ("Возврат денег за отменённый заказ так и не поступил.", "objective"),
            ("Списали плату за подписку, которую я отменил.", "objective"),
            ("В чеке указана неверная сумма, с меня взяли лишнее.", "objective"),
            ("Деньги за возвращённый товар не вернули уже {d} дней.", "objective"),
        ],
        "misinformation": [
            ("Менеджер уверял, что телефон водонепроницаемый, а он сломался после дождя.", "subjective"),
            ("Мне сказали, что доставка бесплатная, а потом взяли за неё деньги.", "subjective"),
            ("Консультант пообещал гарантию два года, а в документах указан один год.", "subjective"),
            ("На сайте написано, что товар в наличии, а оказалось, что его нет.", "subjective"),
            ("Ввели в заблуждение: обещали скидку при покупке, но её не дали.", "subjective"),
        ],
        "other": [
            ("Ваш сайт постоянно не даёт оформить жалобу, форма не отправляется, это возмутительно.", "subjective"),
            ("Недоволен тем, что в магазине нет парковки и туалета для клиентов, это неприемлемо.", "subjective"),
        ],
    },
    "money": ["Я заплатил {a}.", "Стоимость заказа — {a}.", "Сумма покупки {a}.", "Ущерб составил {a}.", "Товар стоил {a}."],
    "wants": [
        ("Прошу вернуть деньги.", ["refund"]),
        ("Верните, пожалуйста, деньги за заказ.", ["refund"]),
        ("Хочу обменять товар на исправный.", ["replacement"]),
        ("Прошу заменить товар.", ["replacement"]),
        ("Требую бесплатный ремонт по гарантии.", ["repair"]),
        ("Сделайте скидку на следующий заказ.", ["discount"]),
        ("Рассчитываю на компенсацию.", ["compensation"]),
        ("Жду извинений.", ["apology"]),
        ("Перезвоните мне, пожалуйста.", ["callback"]),
        ("Объясните, почему так произошло.", ["explanation"]),
        ("Верните деньги и извинитесь.", ["refund", "apology"]),
        ("Замените или почините.", ["replacement", "repair"]),
    ],
    "non": {
        "thanks": [
            "Спасибо большое за быструю доставку, всё пришло целым!",
            "Хочу поблагодарить вашего менеджера Ольгу за помощь.",
            "Благодарю, проблема решена, всё работает.",
            "Отличный сервис, буду заказывать ещё. Спасибо!",
            "Никаких проблем с заказом не было, спасибо.",
        ],
        "question": [
            "Подскажите, пожалуйста, где мой заказ №{o}?",
            "Во сколько открывается ваш магазин в субботу?",
            "Есть ли у вас доставка в Казань?",
            "Можно ли оплатить заказ картой при получении?",
            "Какой срок гарантии на холодильники?",
            "Если возникнет проблема с установкой, куда обращаться?",
        ],
        "quote_request": [
            "Просим выслать коммерческое предложение на поставку 200 офисных кресел.",
            "Пришлите, пожалуйста, прайс-лист на оптовые закупки.",
            "Сколько будет стоить установка кондиционеров в офисе 120 м²? Нужен расчёт стоимости.",
        ],
        "job_application": [
            "Добрый день! Хочу откликнуться на вакансию менеджера, резюме во вложении.",
            "Ищу работу курьером, есть ли у вас вакансии? Резюме прикладываю.",
            "Направляю своё резюме на должность бухгалтера.",
        ],
        "spam": [
            "Раскрутка сайтов в ТОП-10 Яндекса за 7 дней! Гарантия результата, звоните.",
            "Заработок от 100 000 рублей в неделю без вложений, пишите в телеграм.",
            "Базы клиентов для рассылок, актуальные, недорого. Скидка 50% только сегодня!",
        ],
    },
    "extremism": [
        ("Пользуюсь вашим холодильником уже три года, теперь он шумит. Требую неустойку 1% за каждый день и компенсацию морального вреда {a}, иначе подам в суд и напишу во все СМИ.", "quality"),
        ("Куртку ношу второй сезон, она потёрлась. Требую вернуть полную стоимость и выплатить штраф {a}, иначе обращусь в прокуратуру.", "quality"),
        ("Заказ опоздал на один день. Требую компенсацию {a} за моральный ущерб, иначе ославлю вас во всех соцсетях и подам в суд.", "delivery"),
    ],
}

POOL["test"]["ru"] = {
    "greet": ["Добрый день!", "Уважаемая служба поддержки,", "Привет.", ""],
    "close": ["", "Мария", "Надеюсь на понимание.", "Заранее благодарю.", "Олег, 8-903-555-12-34"],
    "subjects": ["Претензия", "", "Рекламация", "По заказу {o}", "Недоволен"],
    "complaints": {
        "quality": [
            ("Кофемашина, купленная у вас, выдаёт ошибку и не варит кофе.", "objective"),
            ("У смартфона через две недели перестала заряжаться батарея.", "objective"),
            ("Ботинки развалились: подошва отклеилась через десять дней.", "objective"),
            ("Принтер печатает полосами с первого дня, товар бракованный.", "objective"),
            ("Цвет обоев совсем не такой, как я ожидал, разочарована.", "subjective"),
        ],
        "delivery": [
            ("Посылку обещали привезти во вторник, сегодня пятница, а её так и нет.", "objective"),
            ("Вместо шести стульев доставили пять.", "objective"),
            ("Курьер оставил коробку у подъезда и уехал, хотя доставка до двери.", "objective"),
            ("Установщик не явился в согласованный день.", "objective"),
            ("Прислали чужой заказ, моего там нет.", "objective"),
        ],
        "service": [
            ("Сотрудница колл-центра разговаривала со мной грубо и не дала договорить.", "subjective"),
            ("На мои обращения в чат не отвечают уже {d} дней.", "subjective"),
            ("Мне так никто и не перезвонил, хотя обещали в течение часа.", "subjective"),
            ("Охранник в вашем магазине хамил покупателям.", "subjective"),
        ],
        "billing": [
            ("Вы списали с карты лишние деньги, сумма не совпадает с заказом.", "objective"),
            ("За одну покупку списание прошло два раза.", "objective"),
            ("Обещанный возврат средств до сих пор не пришёл на счёт.", "objective"),
            ("Начислили комиссию, о которой нигде не было сказано.", "objective"),
        ],
        "misinformation": [
            ("В магазине заверили, что ноутбук подходит для игр, а он тормозит в любой игре.", "subjective"),
            ("Оператор сообщил, что заказ уже отправлен, а оказалось, что его даже не собрали.", "subjective"),
            ("Продавец обманул насчёт комплектации: зарядки в коробке нет, хотя обещал.", "subjective"),
            ("Реклама обещала бесплатную установку, а с нас потребовали доплату.", "subjective"),
        ],
        "other": [
            ("Возмущён тем, что ваша реклама звонит мне по ночам, прошу это прекратить, это безобразие.", "subjective"),
        ],
    },
    "money": ["Оплатил {a}.", "Заказ обошёлся мне в {a}.", "Потратил на это {a}.", "Цена покупки — {a}."],
    "wants": [
        ("Хочу получить свои деньги обратно.", ["refund"]),
        ("Оформите возврат средств.", ["refund"]),
        ("Пришлите новый взамен.", ["replacement"]),
        ("Отремонтируйте, пожалуйста.", ["repair"]),
        ("Прошу предоставить скидку.", ["discount"]),
        ("Требую возместить ущерб.", ["compensation"]),
        ("Хотелось бы услышать извинения.", ["apology"]),
        ("Свяжитесь со мной по телефону.", ["callback"]),
        ("Хочу понять, в чём причина.", ["explanation"]),
    ],
    "non": {
        "thanks": [
            "Огромное спасибо курьеру, привёз даже раньше срока!",
            "Всё понравилось, благодарю за отличную работу.",
            "Спасибо, что так быстро решили проблему!",
        ],
        "question": [
            "Когда поступит в продажу новая модель?",
            "Какие у вас часы работы в праздники?",
            "Подскажите, как отследить посылку?",
            "Возможна ли доставка в выходные?",
        ],
        "quote_request": [
            "Нужен расчёт стоимости на изготовление 50 вывесок, пришлите смету.",
            "Пожалуйста, направьте коммерческое предложение на обслуживание нашего склада.",
        ],
        "job_application": [
            "Здравствуйте, рассматриваете ли вы кандидатов на должность программиста? Резюме прилагаю.",
            "Хотел бы работать у вас продавцом, отправляю резюме.",
        ],
        "spam": [
            "Только сегодня! Кредит без справок под 0%, оформление за 5 минут.",
            "Продвижение в соцсетях, 10 000 подписчиков за неделю, звоните!",
        ],
    },
    "extremism": [
        ("Пылесосом пользуюсь уже два года, он стал хуже тянуть. Требую выплатить неустойку и моральную компенсацию {a}, или иду в суд и на телевидение.", "quality"),
        ("Я ношу эти часы полтора года, ремешок порвался. Требую штраф {a}, иначе засужу ваш магазин.", "quality"),
    ],
}

POOL["dev"]["lt"] = {
    "greet": ["Laba diena,", "Sveiki,", "Labas,", "", "Laba diena!"],
    "close": ["", "Pagarbiai, Jonas", "Ačiū.", "Laukiu atsakymo.", "Rūta Kazlauskienė, tel. +370 612 34567"],
    "subjects": ["Skundas", "Užsakymas {o}", "", "Pretenzija dėl užsakymo {o}", "Problema su preke"],
    "complaints": {
        "quality": [
            ("Nupirktas virdulys po savaitės nustojo veikti.", "objective"),
            ("Televizorius (užsakymas Nr. {o}) neveikia – ekranas juodas.", "objective"),
            ("Gavau striukę su defektu: rankovės siūlė iširo po pirmo dėvėjimo.", "objective"),
            ("Dulkių siurblys sugedo antrą naudojimo dieną.", "objective"),
            ("Skalbimo mašina teka, nors jai tik mėnuo.", "objective"),
            ("Tikėjausi daug geresnės kokybės, audinys plonas ir atrodo pigiai.", "subjective"),
            ("Sofa visai ne tokia patogi, kaip maniau, esu nusivylęs pirkiniu.", "subjective"),
            ("Ausinės šnypščia ir atsijungia, tai akivaizdus brokas.", "objective"),
            ("Prekė sulūžo vos išpakavus.", "objective"),
        ],
        "delivery": [
            ("Užsakymą Nr. {o} turėjo pristatyti prieš {d} dienas, bet jo vis dar nėra.", "objective"),
            ("Kurjeris neatvyko sutartu laiku, laukiau visą dieną.", "objective"),
            ("Atvežė ne tą prekę: užsakiau mėlyną, atėjo raudona.", "objective"),
            ("Siuntinyje trūksta dviejų prekių iš užsakymo.", "objective"),
            ("Pristatymas vėlavo {d} dienas, niekas neįspėjo.", "objective"),
            ("Siuntinys atkeliavo atplėštas ir sulamdytas.", "objective"),
            ("Meistras neatvyko matuoti, nors susitarėme 10 valandą.", "objective"),
        ],
        "service": [
            ("Jūsų operatorė telefonu buvo nemandagi ir padėjo ragelį.", "subjective"),
            ("Jau trečią kartą rašau į pagalbos tarnybą, niekas neatsako.", "subjective"),
            ("Žadėjo perskambinti, bet taip ir neperskambino.", "subjective"),
            ("Pardavėja parduotuvėje elgėsi įžūliai.", "subjective"),
            ("Vadybininkas jau savaitę ignoruoja mano laiškus.", "subjective"),
            ("Labai nepatenkintas aptarnavimu jūsų salone, personalas grubus.", "subjective"),
        ],
        "billing": [
            ("Iš mano kortelės du kartus nuskaičiavo mokėjimą už užsakymą Nr. {o}.", "objective"),
            ("Išrašė sąskaitą didesnei sumai, nei buvo sutartyje.", "objective"),
            ("Pinigai už atšauktą užsakymą taip ir negrąžinti.", "objective"),
            ("Nuskaičiavo mokestį už prenumeratą, kurią atšaukiau.", "objective"),
            ("Čekyje nurodyta neteisinga suma, paėmė per daug.", "objective"),
            ("Pinigų už grąžintą prekę negaunu jau {d} dienas.", "objective"),
        ],
        "misinformation": [
            ("Konsultantas tvirtino, kad telefonas atsparus vandeniui, o jis sugedo po lietaus.", "subjective"),
            ("Man pasakė, kad pristatymas nemokamas, o vėliau už jį paėmė pinigus.", "subjective"),
            ("Pardavėjas pažadėjo dvejų metų garantiją, o dokumentuose nurodyti vieneri metai.", "subjective"),
            ("Svetainėje parašyta, kad prekė yra sandėlyje, o paaiškėjo, kad jos nėra.", "subjective"),
            ("Suklaidino: žadėjo nuolaidą perkant, bet jos nepritaikė.", "subjective"),
        ],
        "other": [
            ("Jūsų svetainėje neįmanoma pateikti skundo, forma neišsiunčiama, tai piktina.", "subjective"),
            ("Nepatenkintas, kad prie parduotuvės nėra automobilių stovėjimo aikštelės, tai nepriimtina.", "subjective"),
        ],
    },
    "money": ["Sumokėjau {a}.", "Užsakymo kaina – {a}.", "Pirkinio suma {a}.", "Nuostoliai sudaro {a}.", "Prekė kainavo {a}."],
    "wants": [
        ("Prašau grąžinti pinigus.", ["refund"]),
        ("Grąžinkite pinigus už užsakymą.", ["refund"]),
        ("Noriu pakeisti prekę į tvarkingą.", ["replacement"]),
        ("Prašau pakeisti prekę nauja.", ["replacement"]),
        ("Reikalauju nemokamo garantinio remonto.", ["repair"]),
        ("Suteikite nuolaidą kitam užsakymui.", ["discount"]),
        ("Tikiuosi kompensacijos.", ["compensation"]),
        ("Laukiu atsiprašymo.", ["apology"]),
        ("Prašau man perskambinti.", ["callback"]),
        ("Paaiškinkite, kodėl taip nutiko.", ["explanation"]),
        ("Grąžinkite pinigus ir atsiprašykite.", ["refund", "apology"]),
        ("Pakeiskite arba suremontuokite.", ["replacement", "repair"]),
    ],
    "non": {
        "thanks": [
            "Labai ačiū už greitą pristatymą, viskas atkeliavo sveika!",
            "Noriu padėkoti jūsų vadybininkei Astai už pagalbą.",
            "Dėkoju, problema išspręsta, viskas veikia.",
            "Puikus aptarnavimas, užsakysiu dar. Ačiū!",
            "Jokių problemų su užsakymu nebuvo, ačiū.",
        ],
        "question": [
            "Gal galite pasakyti, kur mano užsakymas Nr. {o}?",
            "Kada šeštadienį atsidaro jūsų parduotuvė?",
            "Ar pristatote į Klaipėdą?",
            "Ar galima apmokėti kortele atsiimant?",
            "Kokia garantija šaldytuvams?",
            "Jei kils problema su montavimu, kur kreiptis?",
        ],
        "quote_request": [
            "Prašome atsiųsti komercinį pasiūlymą 200 biuro kėdžių tiekimui.",
            "Atsiųskite, prašau, didmeninių kainų kainoraštį.",
            "Kiek kainuotų kondicionierių įrengimas 120 m² biure? Reikia kainos pasiūlymo.",
        ],
        "job_application": [
            "Laba diena, norėčiau kandidatuoti į vadybininko pareigas, CV prisegu.",
            "Ieškau kurjerio darbo, ar turite laisvų darbo vietų? Siunčiu gyvenimo aprašymą.",
            "Siunčiu savo gyvenimo aprašymą buhalterio pareigoms.",
        ],
        "spam": [
            "Svetainių optimizavimas – į Google TOP 10 per 7 dienas! Garantuotas rezultatas.",
            "Uždarbis nuo 3000 eurų per savaitę be investicijų, rašykite.",
            "Greiti kreditai be užstato, tik šiandien 50% nuolaida palūkanoms!",
        ],
    },
    "extremism": [
        ("Jūsų šaldytuvą naudoju jau trejus metus, dabar jis ūžia. Reikalauju netesybų ir {a} moralinės žalos kompensacijos, kitaip kreipsiuosi į teismą ir žiniasklaidą.", "quality"),
        ("Striukę dėviu jau antrą sezoną, ji nusitrynė. Reikalauju grąžinti visą kainą ir sumokėti {a} baudą, kitaip kreipsiuosi į prokuratūrą.", "quality"),
        ("Užsakymas vėlavo vieną dieną. Reikalauju {a} kompensacijos už moralinę žalą, kitaip apjuodinsiu jus socialiniuose tinkluose ir paduosiu į teismą.", "delivery"),
    ],
}

POOL["test"]["lt"] = {
    "greet": ["Sveiki!", "Gerbiami,", "Labas vakaras,", ""],
    "close": ["", "Tomas", "Tikiuosi supratimo.", "Iš anksto dėkoju.", "Eglė, 8 686 12345"],
    "subjects": ["Pretenzija", "", "Reklamacija", "Dėl užsakymo {o}", "Nepatenkinta"],
    "complaints": {
        "quality": [
            ("Pas jus pirktas kavos aparatas rodo klaidą ir neverda kavos.", "objective"),
            ("Telefono baterija po dviejų savaičių nustojo krautis.", "objective"),
            ("Batai subyrėjo: po dešimties dienų atšoko padas.", "objective"),
            ("Spausdintuvas nuo pirmos dienos spausdina su juostomis, prekė brokuota.", "objective"),
            ("Tapetų spalva visai ne tokia, kokios tikėjausi, nusivyliau.", "subjective"),
            ("Lempa mirksi ir dažnai užgęsta, ji netinkama naudoti.", "objective"),
        ],
        "delivery": [
            ("Siuntinį žadėjo atvežti antradienį, šiandien penktadienis, o jo vis dar nėra.", "objective"),
            ("Vietoj šešių kėdžių pristatė penkias.", "objective"),
            ("Kurjeris paliko dėžę prie laiptinės ir išvažiavo, nors užsakiau pristatymą iki durų.", "objective"),
            ("Montuotojas neatvyko suderintą dieną.", "objective"),
            ("Atsiuntė svetimą užsakymą, manojo ten nėra.", "objective"),
        ],
        "service": [
            ("Skambučių centro darbuotoja kalbėjo su manimi grubiai ir neleido pabaigti.", "subjective"),
            ("Į mano užklausas pokalbių lange neatsakoma jau {d} dienas.", "subjective"),
            ("Man taip niekas ir nepaskambino, nors žadėjo per valandą.", "subjective"),
            ("Jūsų parduotuvės apsaugos darbuotojas šiurkščiai elgėsi su pirkėjais.", "subjective"),
        ],
        "billing": [
            ("Nuo kortelės nurašėte per daug pinigų, suma nesutampa su užsakymu.", "objective"),
            ("Už vieną pirkinį pinigai nurašyti du kartus.", "objective"),
            ("Pažadėtas pinigų grąžinimas iki šiol negautas.", "objective"),
            ("Priskaičiavo komisinį mokestį, apie kurį niekur nebuvo parašyta.", "objective"),
        ],
        "misinformation": [
            ("Parduotuvėje patikino, kad nešiojamasis kompiuteris tinka žaidimams, o jis stringa bet kuriame žaidime.", "subjective"),
            ("Operatorius pranešė, kad užsakymas jau išsiųstas, o paaiškėjo, kad jis net nesurinktas.", "subjective"),
            ("Pardavėjas apgavo dėl komplektacijos: kroviklio dėžėje nėra, nors žadėjo.", "subjective"),
            ("Reklamoje žadėjo nemokamą montavimą, o iš mūsų pareikalavo primokėti.", "subjective"),
        ],
        "other": [
            ("Piktina, kad jūsų reklamos skambučiai mane žadina naktimis, prašau liautis, tai nepriimtina.", "subjective"),
        ],
    },
    "money": ["Sumokėjau {a}.", "Užsakymas man kainavo {a}.", "Išleidau tam {a}.", "Pirkinio kaina – {a}."],
    "wants": [
        ("Noriu atgauti savo pinigus.", ["refund"]),
        ("Įforminkite pinigų grąžinimą.", ["refund"]),
        ("Atsiųskite naują vietoj šito.", ["replacement"]),
        ("Prašau sutaisyti.", ["repair"]),
        ("Prašau suteikti nuolaidą.", ["discount"]),
        ("Reikalauju atlyginti žalą.", ["compensation"]),
        ("Norėčiau išgirsti atsiprašymą.", ["apology"]),
        ("Susisiekite su manimi telefonu.", ["callback"]),
        ("Noriu suprasti, kokia priežastis.", ["explanation"]),
    ],
    "non": {
        "thanks": [
            "Didelis ačiū kurjeriui, atvežė net anksčiau laiko!",
            "Viskas patiko, dėkoju už puikų darbą.",
            "Ačiū, kad taip greitai išsprendėte problemą!",
        ],
        "question": [
            "Kada prekyboje pasirodys naujas modelis?",
            "Kokios jūsų darbo valandos per šventes?",
            "Kaip galiu sekti siuntinį?",
            "Ar galimas pristatymas savaitgalį?",
        ],
        "quote_request": [
            "Reikia 50 iškabų gamybos kainos skaičiavimo, atsiųskite sąmatą.",
            "Prašome atsiųsti komercinį pasiūlymą mūsų sandėlio aptarnavimui.",
        ],
        "job_application": [
            "Sveiki, ar ieškote programuotojo? Prisegu savo CV.",
            "Norėčiau dirbti pas jus pardavėju, siunčiu gyvenimo aprašymą.",
        ],
        "spam": [
            "Tik šiandien! Paskola be pažymų, 0% palūkanos, sutartis per 5 minutes.",
            "Reklama socialiniuose tinkluose, 10 000 sekėjų per savaitę, skambinkite!",
        ],
    },
    "extremism": [
        ("Dulkių siurblį naudoju jau dvejus metus, jis prasčiau traukia. Reikalauju netesybų ir {a} moralinės kompensacijos, arba einu į teismą ir televiziją.", "quality"),
        ("Šį laikrodį nešioju pusantrų metų, apyrankė nutrūko. Reikalauju {a} baudos, kitaip paduosiu jūsų parduotuvę į teismą.", "quality"),
    ],
}

POOL["dev"]["en"] = {
    "greet": ["Hello,", "Hi there,", "Dear support,", ""],
    "close": ["", "Regards, Tom", "Thanks.", "Looking forward to your reply."],
    "subjects": ["Complaint", "Order {o}", "", "Problem with my order"],
    "complaints": {
        "quality": [
            ("The kettle I bought stopped working after a week.", "objective"),
            ("My new headphones arrived broken, the left side makes no sound.", "objective"),
            ("The jacket's zipper broke the second time I wore it, clearly a defect.", "objective"),
            ("I expected much better quality for the price, the fabric feels cheap.", "subjective"),
        ],
        "delivery": [
            ("Order {o} was due {d} days ago and it still has not arrived.", "objective"),
            ("The courier never showed up in the agreed time slot.", "objective"),
            ("You sent me the wrong item, I ordered a blue one and got a red one.", "objective"),
        ],
        "service": [
            ("Your agent was rude to me on the phone and hung up.", "subjective"),
            ("I have written to support three times and nobody replies.", "subjective"),
            ("You promised to call me back and never did.", "subjective"),
        ],
        "billing": [
            ("I was charged twice for order {o}.", "objective"),
            ("My refund for the cancelled order has still not arrived.", "objective"),
            ("You keep billing me for a subscription I cancelled.", "objective"),
        ],
        "misinformation": [
            ("Your sales rep told me the phone was waterproof, it died after light rain.", "subjective"),
            ("The website said the item was in stock, but it turned out it was not.", "subjective"),
            ("I was promised free installation, then you charged me for it.", "subjective"),
            ("Your agent assured me the warranty was two years, the paperwork says one.", "subjective"),
        ],
    },
    "money": ["I paid {a}.", "The order cost {a}.", "That is {a} wasted.", "It cost me {a}."],
    "wants": [
        ("I want my money back.", ["refund"]),
        ("Please send a replacement.", ["replacement"]),
        ("Please repair it under warranty.", ["repair"]),
        ("I expect some compensation.", ["compensation"]),
        ("An apology would be appropriate.", ["apology"]),
        ("Please call me back.", ["callback"]),
        ("Please explain what happened.", ["explanation"]),
        ("A discount on my next order would be fair.", ["discount"]),
    ],
    "non": {
        "thanks": ["Thanks a lot for the quick delivery, everything is perfect!", "No problem at all, thank you for your help."],
        "question": ["What are your opening hours on Sunday?", "Do you ship to Latvia?"],
        "quote_request": ["Could you send us a quote for 300 office chairs?"],
        "job_application": ["I would like to apply for the warehouse position, my CV is attached."],
        "spam": ["Get 10,000 followers in a week! Cheap SEO services, click here to unsubscribe."],
    },
    "extremism": [
        ("I have used this fridge for three years and now it is noisy. I demand {a} in damages and penalties or I will sue you and go to the press.", "quality"),
    ],
}

POOL["test"]["en"] = {
    "greet": ["Good morning,", "To whom it may concern,", ""],
    "close": ["", "Best, Anna", "Kind regards."],
    "subjects": ["Unhappy customer", "", "Re: order {o}"],
    "complaints": {
        "quality": [
            ("The coffee machine shows an error and won't brew.", "objective"),
            ("The printer has printed streaks since day one, it is faulty.", "objective"),
            ("The colour is nothing like I expected, very disappointed.", "subjective"),
        ],
        "delivery": [
            ("You promised delivery on Tuesday, it's Friday and nothing has come.", "objective"),
            ("Only five of the six chairs were delivered.", "objective"),
            ("The technician did not turn up on the agreed day.", "objective"),
        ],
        "service": [
            ("The call centre operator was extremely rude and cut me off.", "subjective"),
            ("Nobody answers my chat messages for {d} days now.", "subjective"),
        ],
        "billing": [
            ("You took more money from my card than the order total.", "objective"),
            ("The refund you promised never reached my account.", "objective"),
            ("There is a fee on my bill that nobody told me about.", "objective"),
        ],
        "misinformation": [
            ("The shop assured me the laptop could run games, it lags in every game.", "subjective"),
            ("The advert promised free setup, then you asked us to pay extra.", "subjective"),
            ("Your operator said the order had shipped, but it had not even been packed.", "subjective"),
        ],
    },
    "money": ["I spent {a} on it.", "The purchase price was {a}.", "I was charged {a}."],
    "wants": [
        ("Please refund the full amount.", ["refund"]),
        ("Send me a new one instead.", ["replacement"]),
        ("Fix it, please.", ["repair"]),
        ("I want compensation for the damage.", ["compensation"]),
        ("I'd like someone to contact me by phone.", ["callback"]),
        ("I want to understand the reason.", ["explanation"]),
    ],
    "non": {
        "thanks": ["Great job, the courier came early. Thank you!", "Problem solved, thanks so much!"],
        "question": ["When will the new model be available?", "How can I track my parcel?"],
        "quote_request": ["Please send a price quote for servicing our warehouse."],
        "job_application": ["Are you hiring developers? Please find my resume attached."],
        "spam": ["Loans with no paperwork, 0% interest, apply in 5 minutes! Unsubscribe here."],
    },
    "extremism": [
        ("I've worn this watch for a year and a half and the strap broke. I demand {a} in punitive damages or I will take you to court.", "quality"),
    ],
}

EXTREMISM_DEMAND = {"ru": [("300 000 рублей", "300000", "RUB"), ("500 тыс. руб.", "500000", "RUB"), ("1 000 000 ₽", "1000000", "RUB")],
                    "lt": [("10 000 eurų", "10000", "EUR"), ("50 tūkst. eurų", "50000", "EUR"), ("€25000", "25000", "EUR")],
                    "en": [("$50,000", "50000", "USD"), ("€100,000", "100000", "EUR")]}

# How many examples per core sentence / non-complaint text.
PER_CORE = {"ru": 4, "lt": 5, "en": 3}


def fill(s, rng):
    return s.replace("{o}", str(rng.randint(10000, 99999))).replace("{d}", str(rng.randint(2, 14)))


def complaint(pool, lang, cat, core, cause, rng, n):
    text_parts = [rng.choice(pool["greet"]), fill(core, rng)]
    amount, currency = "", ""
    if rng.random() < 0.55:
        a, amount, currency = money(lang, rng)
        text_parts.append(rng.choice(pool["money"]).replace("{a}", a))
    wants = []
    if rng.random() < 0.7:
        w, wants = rng.choice(pool["wants"])
        text_parts.append(w)
    text_parts.append(rng.choice(pool["close"]))
    return {"subject": fill(rng.choice(pool["subjects"]), rng), "text": " ".join(p for p in text_parts if p),
            "is_complaint": True, "lang": lang, "category": cat, "cause": cause,
            "amount": amount, "currency": currency, "wants": sorted(wants), "extremism_hint": False}


def noncomplaint(pool, lang, kind, text, rng):
    greet = rng.choice(pool["greet"]) if kind != "spam" else ""
    return {"subject": "", "text": (greet + " " + fill(text, rng)).strip(), "is_complaint": False,
            "not_complaint": kind, "lang": lang, "category": "", "cause": "", "amount": "", "currency": "",
            "wants": [], "extremism_hint": False}


def extremism(pool, lang, text, cat, rng):
    a, amount, currency = rng.choice(EXTREMISM_DEMAND[lang])
    return {"subject": rng.choice(["", fill(rng.choice(pool["subjects"]), rng)]),
            "text": (rng.choice(pool["greet"]) + " " + text.replace("{a}", a)).strip(),
            "is_complaint": True, "lang": lang, "category": cat, "amount": amount, "currency": currency,
            "extremism_hint": True}


def generate(split, rng):
    rows = []
    for lang, pool in POOL[split].items():
        n = 0
        for cat, cores in pool["complaints"].items():
            for core, cause in cores:
                for _ in range(PER_CORE[lang]):
                    rows.append(complaint(pool, lang, cat, core, cause, rng, n))
        for kind, texts in pool["non"].items():
            for t in texts:
                for _ in range(2 if lang != "en" else 1):
                    rows.append(noncomplaint(pool, lang, kind, t, rng))
        for text, cat in pool["extremism"]:
            rows.append(extremism(pool, lang, text, cat, rng))
    for i, r in enumerate(rows):
        r["id"] = "own-%s-%s-%04d" % (split, r["lang"], i)
        r["channel"] = rng.choice(["email", "telegram"])
        r["source"] = "own"
    return [{k: r[k] for k in ["id", "channel", "subject", "text"] + [k for k in r if k not in ("id", "channel", "subject", "text")]} for r in rows]
