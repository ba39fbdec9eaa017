"""The navigation bar leads to every page a role may use."""


def test_nav_links_to_the_monthly_report_in_both_languages(client):
    fr = client.get("/hotspots").get_data(as_text=True)
    assert 'id="nav-report"' in fr and "Rapport mensuel" in fr
    en = client.get("/hotspots?lang=en").get_data(as_text=True)
    assert "Monthly report" in en
