"""The documents' words in French and Arabic (English for reviewers of the code), by key. Kept as
data beside the templates; tests/test_documents.py fails when a key misses a language."""

WORDS: dict[str, dict[str, str]] = {
    "ministry": {
        "fr": "Royaume du Maroc — Ministère chargé du programme de soutien aux associations et coopératives",
        "ar": "المملكة المغربية — الوزارة المكلفة ببرنامج دعم الجمعيات والتعاونيات",
        "en": "Kingdom of Morocco — Ministry in charge of the programme supporting associations and cooperatives",
    },
    "award_letter": {"fr": "Lettre d'attribution", "ar": "رسالة منح الدعم", "en": "Award letter"},
    "agreement": {"fr": "Convention de financement", "ar": "اتفاقية التمويل", "en": "Funding agreement"},
    "reference": {"fr": "Référence", "ar": "المرجع", "en": "Reference"},
    "date": {"fr": "Date", "ar": "التاريخ", "en": "Date"},
    "to": {"fr": "À l'attention de", "ar": "إلى", "en": "To"},
    "award_body": {
        "fr": "Nous avons l'honneur de vous informer que le comité de sélection de l'édition {edition} a retenu le projet « {title} » pour une subvention de {award}.",
        "ar": "يشرفنا أن نخبركم بأن لجنة الانتقاء الخاصة بالدورة {edition} قد قررت انتقاء مشروع «{title}» للاستفادة من منحة قدرها {award}.",
        "en": "We are pleased to inform you that the selection committee of edition {edition} selected the project “{title}” for a grant of {award}.",
    },
    "award_next": {
        "fr": "La convention de financement vous sera remise pour signature ; la première tranche est versée à sa signature.",
        "ar": "ستُسلم إليكم اتفاقية التمويل للتوقيع، ويُحوَّل الشطر الأول عند توقيعها.",
        "en": "The funding agreement will be handed to you for signature; the first tranche is paid when it is signed.",
    },
    "parties": {"fr": "Les parties", "ar": "الأطراف", "en": "The parties"},
    "party_ministry": {
        "fr": "Le Ministère, ci-après « le programme »",
        "ar": "الوزارة، ويشار إليها فيما يلي بـ«البرنامج»",
        "en": "The Ministry, hereafter “the programme”",
    },
    "party_beneficiary": {
        "fr": "{name}, {legal_form} immatriculée sous le numéro {registration_number}, ci-après « le bénéficiaire »",
        "ar": "{name}، {legal_form} مسجلة تحت رقم {registration_number}، ويشار إليها فيما يلي بـ«المستفيد»",
        "en": "{name}, {legal_form} registered under number {registration_number}, hereafter “the beneficiary”",
    },
    "object": {"fr": "Objet", "ar": "الموضوع", "en": "Purpose"},
    "object_body": {
        "fr": "Le programme accorde au bénéficiaire une subvention de {award} pour le projet « {title} », d'une durée de {months} mois.",
        "ar": "يمنح البرنامج المستفيد دعما قدره {award} لإنجاز مشروع «{title}» لمدة {months} شهرا.",
        "en": "The programme grants the beneficiary {award} for the project “{title}”, over {months} months.",
    },
    "funders": {"fr": "Répartition par financeur", "ar": "التوزيع حسب الممولين", "en": "Split by funder"},
    "funder": {"fr": "Financeur", "ar": "الممول", "en": "Funder"},
    "amount": {"fr": "Montant", "ar": "المبلغ", "en": "Amount"},
    "funder_ministry": {"fr": "Ministère", "ar": "الوزارة", "en": "Ministry"},
    "funder_region": {"fr": "Conseil de la Région {code}", "ar": "مجلس الجهة {code}", "en": "Council of Region {code}"},
    "tranches": {
        "fr": "Tranches et conditions de versement",
        "ar": "الأشطر وشروط التحويل",
        "en": "Tranches and their conditions",
    },
    "tranche": {"fr": "Tranche", "ar": "الشطر", "en": "Tranche"},
    "condition": {"fr": "Condition", "ar": "الشرط", "en": "Condition"},
    "release_signature": {
        "fr": "à la signature de la présente convention",
        "ar": "عند توقيع هذه الاتفاقية",
        "en": "when this agreement is signed",
    },
    "release_midterm_report": {
        "fr": "à l'approbation du rapport à mi-parcours",
        "ar": "عند المصادقة على تقرير منتصف المدة",
        "en": "when the mid-term report is approved",
    },
    "reports": {"fr": "Rapports d'avancement", "ar": "تقارير التقدم", "en": "Progress reports"},
    "reports_body": {
        "fr": "Le bénéficiaire remet un rapport d'avancement tous les {interval} mois et un rapport final au terme du projet ; sans rapport, la tranche suivante est suspendue.",
        "ar": "يقدم المستفيد تقريرا عن التقدم كل {interval} أشهر وتقريرا نهائيا عند انتهاء المشروع؛ وفي غياب التقرير يُعلَّق الشطر الموالي.",
        "en": "The beneficiary hands in a progress report every {interval} months and a final report at the project's end; without a report, the next tranche is suspended.",
    },
    "obligations": {
        "fr": "Obligations du bénéficiaire",
        "ar": "التزامات المستفيد",
        "en": "The beneficiary's obligations",
    },
    "obligation_use": {
        "fr": "Affecter la subvention au seul projet décrit ci-dessus.",
        "ar": "تخصيص الدعم للمشروع الموصوف أعلاه دون غيره.",
        "en": "Use the grant for the project above only.",
    },
    "obligation_visit": {
        "fr": "Accepter les visites de suivi du programme.",
        "ar": "قبول زيارات التتبع التي يقوم بها البرنامج.",
        "en": "Accept the programme's monitoring visits.",
    },
    "obligation_refund": {
        "fr": "Restituer les sommes versées en cas de résiliation pour manquement.",
        "ar": "إرجاع المبالغ المحولة في حالة الفسخ بسبب الإخلال بالالتزامات.",
        "en": "Repay the sums paid if the agreement is terminated for a breach.",
    },
    "bank": {
        "fr": "Compte bancaire du bénéficiaire",
        "ar": "الحساب البنكي للمستفيد",
        "en": "The beneficiary's bank account",
    },
    "signatures": {"fr": "Signatures", "ar": "التوقيعات", "en": "Signatures"},
    "for_programme": {"fr": "Pour le programme", "ar": "عن البرنامج", "en": "For the programme"},
    "for_beneficiary": {"fr": "Pour le bénéficiaire", "ar": "عن المستفيد", "en": "For the beneficiary"},
    "legal_form_association": {"fr": "association", "ar": "جمعية", "en": "association"},
    "legal_form_cooperative": {"fr": "coopérative", "ar": "تعاونية", "en": "cooperative"},
    "legal_form_network": {"fr": "réseau d'associations", "ar": "شبكة جمعيات", "en": "network of associations"},
    "sha": {
        "fr": "Empreinte SHA-256 de ce document : voir le registre des documents",
        "ar": "بصمة SHA-256 لهذه الوثيقة: انظر سجل الوثائق",
        "en": "This document's SHA-256: see the document register",
    },
}
