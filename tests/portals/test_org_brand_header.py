def test_editing_another_brand_keeps_this_sites_header(world, client_for):
    """The page is served by brand A; the sister brand being edited must not take over the
    ``brand`` the base template draws its header, logo and favicon from."""
    page = client_for(world.a.operator, world.a.brand).get(f"/org/brands/{world.a.sister.pk}/")
    assert page.status_code == 200
    assert page.context["brand"] == world.a.brand
    assert page.context["target_brand"] == world.a.sister
    assert "<h1>Sister A</h1>" in page.content.decode()
