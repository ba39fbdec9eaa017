"""Fill the English catalogue from ``messages.pot`` (French sources). Run by hand after
``pybabel extract``; ``make assets`` compiles the ``.po`` files into ``.mo``."""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

EN = {
    "Du": "From", "Au": "To", "Catégories": "Categories", "sensible": "sensitive", "Heures": "Hours",
    "Nuit seulement": "Night only", "Jours": "Days", "Appliquer": "Apply", "Réinitialiser": "Reset",
    "Carte": "Map", "Points chauds": "Hotspots", "Rapport mensuel": "Monthly report",
    "Données simulées : les faits de cette démonstration sont générés, pas réels.":
        "Simulated data: the incidents of this demonstration are generated, not real.",
    "Faits (filtres)": "Incidents (filters)", "Faits dans la vue": "Incidents in view", "Évolution": "Change",
    "contre": "vs", "Aucun fait sur la période précédente": "No incident in the previous period",
    "Lien vers cette vue": "Link to this view", "Erreur": "Error", "Retour à la carte": "Back to the map",
    "Point chaud": "Hotspot", "Tous les points chauds": "All hotspots", "faits": "incidents",
    "part de nuit": "night share", "Faits par mois": "Incidents per month",
    "Heure × jour de la semaine": "Hour × weekday",
    "Établissements scolaires à moins de %(m)s m": "Schools within %(m)s m",
    "Commerces à moins de %(m)s m": "Shops within %(m)s m", "Propositions": "Proposals",
    "Les propositions de prévention situationnelle apparaîtront ici.": "Situational-prevention proposals will appear here.",
    "Suivi": "Follow-up", "Le fil de suivi (statut, commentaires) apparaîtra ici.":
        "The review thread (status, comments) will appear here.",
    "Zones de points chauds": "Hotspot areas", "Choix automatiques": "Automatic choices",
    "Le suivi des points chauds (statut, commentaires) n'est pas encore en place : chaque zone est affichée « nouveau ».":
        "Hotspot review (status, comments) is not in place yet: every area is shown as “new”.",
    "Zone": "Area", "Faits": "Incidents", "Surface (km²)": "Area (km²)", "Tendance": "Trend",
    "Part de nuit": "Night share", "Statut": "Status",
    "Aucune zone de point chaud significative pour ces filtres.": "No significant hotspot area for these filters.",
    "Exports": "Exports", "Administration": "Administration", "Déconnexion": "Log out",
    "Aucun compte : accès ouvert en local": "No account: open local access", "accès ouvert": "open access",
    "Connexion": "Log in", "Mon compte": "My account", "ZAC": "ZAC", "Droit": "Permission", "Portée": "Scope",
    "Connexion à Vigie": "Log in to Vigie",
    "Aucun compte n'existe encore : créez-en un avec « geo-app user add NOM --role admin ».":
        "No account exists yet: create one with “geo-app user add NAME --role admin”.",
    "Identifiant": "User name", "Mot de passe": "Password", "Se connecter": "Log in",
    "Les résultats de points chauds ne sont pas encore disponibles.": "Hotspot results are not available yet.",
    "hausse": "rising", "baisse": "falling", "stable": "stable",
    "Test de Mann-Kendall sur les faits par mois": "Mann-Kendall test on the monthly incident counts",
    "Caméra proposée": "Proposed camera", "Point lumineux proposé": "Proposed lamp",
    "faits couverts": "incidents covered",
    "Propositions indisponibles : %(why)s": "Proposals unavailable: %(why)s",
    "Aucune proposition à moins de %(m)s m de cette zone pour ces filtres.":
        "No proposal within %(m)s m of this area for these filters.",
    # import page (geo_app/views/imports.py, templates/imports.html)
    "Imports": "Imports", "Rien n’a été enregistré.": "Nothing was stored.",
    "Simulation (rien n’a été enregistré) : %(n)s ligne(s) seraient enregistrées depuis %(file)s.":
        "Dry run (nothing was stored): %(n)s row(s) would be stored from %(file)s.",
    "Lot %(id)s enregistré : %(n)s ligne(s) depuis %(file)s.": "Batch %(id)s stored: %(n)s row(s) from %(file)s.",
    "Lot %(id)s annulé : %(n)s objet(s) « %(kind)s » retiré(s) (%(file)s).":
        "Batch %(id)s rolled back: %(n)s %(kind)s feature(s) removed (%(file)s).",
    "Rapport": "Report", "Lues": "Read", "valides": "valid", "enregistrées": "stored", "rejetées": "rejected",
    "SCR du fichier": "File CRS", "Champ": "Field", "Colonne du fichier": "File column",
    "Libellés sans catégorie (enregistrés comme « other »)": "Labels without a category (stored as “other”)",
    "Problèmes": "Problems", "les %(n)s premiers": "the first %(n)s", "Ligne": "Row", "Gravité": "Severity",
    "Message": "Message", "erreur": "error", "avertissement": "warning", "Importer un fichier": "Import a file",
    "Couche": "Layer kind",
    "Fichier (GeoJSON, GeoPackage, Shapefile zippé, CSV, KML ; %(mb)s Mo au plus)":
        "File (GeoJSON, GeoPackage, zipped Shapefile, CSV, KML; %(mb)s MB at most)",
    "SCR (si le fichier ne le déclare pas)": "CRS (when the file does not declare it)",
    "Couche du fichier": "Layer in the file", "Correspondance des libellés": "Label mapping", "aucune": "none",
    "Format des dates": "Date format", "Colonnes (une ligne CHAMP=COLONNE)": "Columns (one FIELD=COLUMN per line)",
    "Ignorer les lignes invalides (le rapport reste avec le lot)":
        "Skip invalid rows (the report stays with the batch)",
    "Simulation (lire et vérifier sans rien enregistrer)": "Dry run (read and check, store nothing)",
    "Importer": "Import", "Lots importés": "Imported batches", "Lot": "Batch", "Fichier": "File", "Par": "By",
    "Date": "Date", "Enregistrées": "Stored", "Rejetées": "Rejected", "Simulé": "Simulated",
    "Retirer toutes les données de ce lot": "Remove every feature of this batch", "Annuler le lot": "Roll back",
    "Aucun lot importé.": "No batch imported.",
    "Valeurs communes à toutes les lignes (une ligne CHAMP=VALEUR)": "Values for every row (one FIELD=VALUE per line)",
    "oui": "yes", "non": "no",
}

here = Path(__file__).parent
with open(here / "messages.pot", "rb") as f:
    template = read_po(f)
for lang, table in (("en", EN), ("fr", {})):
    cat = Catalog(locale=lang, project="Vigie", charset="utf-8")
    for msg in template:
        if msg.id:
            cat.add(msg.id, table.get(msg.id, ""))
    out = here / lang / "LC_MESSAGES" / "messages.po"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        write_po(f, cat, omit_header=False, no_location=True, width=100)
    missing = [m.id for m in template if m.id and lang == "en" and m.id not in table]
    if missing:
        print(f"{lang}: {len(missing)} untranslated:", *missing, sep="\n  ")
