def test_world_builds(world):
    assert world.a.patient.memberships.get().brand == world.a.brand
    assert world.b.operator.memberships.get().organization == world.b.operator_org
