"""A Cecosesola-like demo network: one federation, 50 organisations, 1,300 members.

Deterministic (a seeded random generator, uuids included; dates relative to today) and fast
(bulk inserts): `make run` calls it with --if-empty on a fresh database.
"""

from __future__ import annotations

import random
import time as clock
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from governance import demo as app_demos
from governance.models import (
    AuditEntry,
    Decision,
    Federation,
    FederationMembership,
    Mandate,
    Membership,
    Organization,
    RuleSet,
    Workgroup,
    WorkgroupMember,
)

User = get_user_model()

DEMO_PASSWORD = "demo-asamblea"
DEMO_LOGINS = {
    "ana": "facilitadora en la primera organización",
    "beto": "trabajador sin mandato, misma organización",
    "carla": "otra organización",
    "rita": "revisora de la federación",
}

FIRST_WOMEN = [
    "María",
    "Carmen",
    "Luisa",
    "Rosa",
    "Yolanda",
    "Elena",
    "Marisol",
    "Gladys",
    "Ana Karina",
    "Milagros",
    "Yusmary",
    "Daniela",
    "Andreína",
    "Josefina",
    "Beatriz",
    "Nelly",
    "Zulay",
    "Francis",
    "Mariela",
    "Isabel",
    "Lorena",
    "Teresa",
    "Xiomara",
    "Dayana",
    "Noemí",
    "Inés",
]
FIRST_MEN = [
    "José",
    "Luis",
    "Carlos",
    "Jesús",
    "Pedro",
    "Rafael",
    "Juan",
    "Ramón",
    "Alexis",
    "Freddy",
    "Omar",
    "Gustavo",
    "Miguel",
    "Yonder",
    "Édgar",
    "Richard",
    "Wilmer",
    "Antonio",
    "Orlando",
    "Nelson",
    "Ángel",
    "Tomás",
    "Simón",
    "Jairo",
    "Rubén",
    "Darwin",
]
SURNAMES = [
    "Pérez",
    "González",
    "Rodríguez",
    "Hernández",
    "García",
    "Martínez",
    "López",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Mendoza",
    "Rojas",
    "Colmenárez",
    "Escalona",
    "Mendoza",
    "Piñero",
    "Timaure",
    "Alvarado",
    "Giménez",
    "Yépez",
    "Suárez",
    "Querales",
    "Castillo",
    "Briceño",
    "Montes",
    "Álvarez",
    "Freitez",
    "Sequera",
    "Lucena",
    "Peraza",
    "Oropeza",
    "Arráez",
    "Vargas",
    "Carrasco",
    "Linárez",
    "Durán",
]
ORG_KINDS = [
    ("Cooperativa", Organization.Kind.COOPERATIVE),
    ("Cooperativa Agrícola", Organization.Kind.COOPERATIVE),
    ("Unidad de Producción Comunitaria", Organization.Kind.FACTORY),
    ("Asociación Cooperativa", Organization.Kind.COOPERATIVE),
    ("Comuna", Organization.Kind.COMMUNE),
]
ORG_NAMES = [
    "La Alborada",
    "El Triunfo",
    "Las Lajitas",
    "Sabana Grande",
    "La Unión",
    "El Tocuyo",
    "Moroturo",
    "Monte Carmelo",
    "Bojó",
    "Palo Verde",
    "La Miel",
    "Guarico",
    "San Miguel",
    "El Progreso",
    "Caja de Agua",
    "Villanueva",
    "Cubiro",
    "Sanare",
    "Duaca",
    "Quíbor",
    "Buena Vista",
    "El Cercado",
    "Los Arangues",
    "El Manzano",
    "Tintorero",
    "Siquisique",
    "Río Claro",
    "La Piedad",
    "Curarigua",
    "Barbacoas",
    "El Eneal",
    "Agua Viva",
    "Cabudare",
    "Santa Rosa",
    "El Cují",
    "Tamaca",
    "Las Veritas",
    "Atarigua",
    "San Pedro",
    "Los Rastrojos",
    "La Ruezga",
    "Pueblo Nuevo",
    "Chabasquén",
    "Humocaro",
    "Cerro Blanco",
    "El Molino",
    "La Carucieña",
    "Santa Inés",
    "Bobare",
    "Anzoátegui",
]
WORKGROUPS = [
    "Panadería",
    "Feria de consumo",
    "Logística y transporte",
    "Centro de salud",
    "Siembra",
    "Empaque",
    "Cocina comunitaria",
    "Caja de ahorro",
    "Mantenimiento",
    "Funeraria",
    "Educación",
    "Compras a productores",
    "Taller de costura",
    "Acopio",
]
TOPICS = [
    (
        "Precios de la feria de esta semana",
        "La asamblea acuerda mantener el precio único por kilo para todas las hortalizas.",
    ),
    (
        "Turnos de limpieza",
        "Los turnos de limpieza rotan semanalmente entre todos los grupos de trabajo.",
    ),
    ("Compra de un camión", "Se aprueba la compra de un camión usado con el fondo de reposición."),
    (
        "Horario de la panadería",
        "La panadería abre a las 5:30 y cierra a las 13:00 de lunes a sábado.",
    ),
    (
        "Anticipos societarios",
        "Los anticipos se ajustan por igual para todas las personas asociadas.",
    ),
    ("Fondo de salud", "El 2 % del excedente se destina al fondo de salud de la red."),
    ("Reparación de la cava", "Se repara la cava de frío con el apoyo del grupo de mantenimiento."),
    (
        "Capacitación en contabilidad",
        "Tres compañeras asisten al taller de contabilidad y lo comparten en la próxima asamblea.",
    ),
    (
        "Semilla para el nuevo ciclo",
        "Se compra semilla de caraota y maíz a los productores de la red.",
    ),
    (
        "Intercambio con otra cooperativa",
        "Dos personas por grupo visitan otra cooperativa de la red durante una semana.",
    ),
    (
        "Quórum de las asambleas",
        "Se revisa cómo se cuenta el quórum cuando hay compañeros de permiso.",
    ),
    (
        "Nuevo grupo de empaque",
        "Se forma un grupo de empaque con quienes se ofrezcan en esta asamblea.",
    ),
]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class Command(BaseCommand):
    help = "Load a deterministic Cecosesola-like demo network (federation, 50 organisations)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--small", action="store_true", help="3 organisations, for tests")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if any organisation exists"
        )
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Organization.objects.exists():
            self.stdout.write("The database already has organisations: demo data not loaded.")
            return
        if User.objects.filter(username__in=list(DEMO_LOGINS)).exists():
            self.stderr.write("Demo users already exist: demo data not loaded.")
            return
        started = clock.monotonic()
        small = options["small"]
        stats = seed(
            rng=random.Random(options["seed"]),
            organizations=3 if small else 50,
            members=30 if small else 1300,
            small=small,
        )
        self.stdout.write(
            f"Demo network loaded in {clock.monotonic() - started:.1f} s: "
            f"{stats['organizations']} organisations, {stats['members']} members, "
            f"{stats['mandates']} mandates, {stats['decisions']} decisions."
        )
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
        for username, what in (DEMO_LOGINS | app_demos.LOGINS).items():
            self.stdout.write(f"  {username:6} {what}")
        for key, value in stats.items():
            if "." in key:
                self.stdout.write(f"  {key}: {value}")


@transaction.atomic
def seed(
    *, rng: random.Random, organizations: int, members: int, small: bool = False
) -> dict[str, int]:
    today = timezone.now().date()
    anchor = datetime.combine(today, time(14, 0), tzinfo=UTC)

    def days_ago(n: float) -> datetime:
        return anchor - timedelta(days=n)

    password = make_password(DEMO_PASSWORD, salt="autogestiondemo")

    # --- Federation and organisations ---------------------------------------------------
    federation = Federation.objects.create(
        uuid=_uuid(rng),
        name="Red de Cooperativas de Lara",
        slug="red-lara",
        description="Red de organizaciones autogestionadas: ferias de consumo, producción "
        "agrícola, panaderías, salud y servicios funerarios.",
        created_at=days_ago(40 * 365),
    )
    orgs: list[Organization] = []
    for i in range(organizations):
        prefix, kind = ORG_KINDS[0] if i < 3 else rng.choice(ORG_KINDS)
        name = f"{prefix} {ORG_NAMES[i % len(ORG_NAMES)]}"
        orgs.append(
            Organization(
                uuid=_uuid(rng),
                name=name,
                slug=slugify(name)[:50],
                kind=kind,
                time_zone="America/Caracas",
                language="es",
                created_at=days_ago(rng.randint(3 * 365, 30 * 365)),
            )
        )
    Organization.objects.bulk_create(orgs)
    orgs = list(Organization.objects.filter(pk__in=[o.pk for o in orgs]).order_by("pk"))
    FederationMembership.objects.bulk_create(
        FederationMembership(
            federation=federation, organization=o, start=o.created_at.date() + timedelta(days=30)
        )
        for o in orgs
    )

    # --- People -------------------------------------------------------------------------
    weights = [rng.uniform(0.5, 2.0) for _ in orgs]
    sizes = [max(6, round(members * w / sum(weights))) for w in weights]
    sizes[0] += members - sum(sizes)  # the first organisation absorbs the rounding

    demo_people = {
        "ana": ("Ana", "Colmenárez", 0),
        "beto": ("Beto", "Escalona", 0),
        "carla": ("Carla", "Timaure", 1 if organizations > 1 else 0),
        "rita": ("Rita", "Querales", 2 if organizations > 2 else 0),
    }
    users: list[Any] = []
    user_org: list[int] = []
    taken = set(demo_people)
    for username, (first, last, org_index) in demo_people.items():
        users.append(User(username=username, first_name=first, last_name=last, password=password))
        user_org.append(org_index)
    remaining = list(sizes)
    for _username, (_f, _l, org_index) in demo_people.items():
        remaining[org_index] -= 1
    for org_index, count in enumerate(remaining):
        for _ in range(count):
            woman = rng.random() < 0.52
            first = rng.choice(FIRST_WOMEN if woman else FIRST_MEN)
            last = f"{rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"
            base = slugify(f"{first.split()[0]}.{last.split()[0]}").replace("-", ".")
            username, n = base, 2
            while username in taken:
                username, n = f"{base}{n}", n + 1
            taken.add(username)
            users.append(
                User(username=username, first_name=first, last_name=last, password=password)
            )
            user_org.append(org_index)
    User.objects.bulk_create(users)
    users = list(User.objects.filter(username__in=taken).order_by("pk"))
    by_name = {u.username: u for u in users}
    ordered = [by_name[u.username] for u in users]

    memberships: list[Membership] = []
    counters = [0] * len(orgs)
    for person, org_index in zip(ordered, user_org, strict=True):
        counters[org_index] += 1
        org = orgs[org_index]
        joined = (
            org.created_at.date()
            if counters[org_index] <= 3
            else max(org.created_at.date(), today - timedelta(days=rng.randint(30, 15 * 365)))
        )
        status = Membership.Status.ACTIVE
        demo = person.username in demo_people
        if not demo and rng.random() < 0.03:
            status = Membership.Status.ON_LEAVE
        attributes = {}
        if not demo and rng.random() < 0.6:
            attributes = {"gender": "woman" if person.first_name in FIRST_WOMEN else "man"}
        memberships.append(
            Membership(
                uuid=_uuid(rng),
                person=person,
                organization=org,
                member_number=str(counters[org_index]),
                status=status,
                joined_on=joined,
                status_since=joined
                if status == Membership.Status.ACTIVE
                else today - timedelta(days=rng.randint(1, 60)),
                attributes=attributes,
            )
        )
    Membership.objects.bulk_create(memberships)
    memberships = list(
        Membership.objects.filter(organization__in=orgs).select_related("person").order_by("pk")
    )
    members_of: dict[int, list[Membership]] = {o.pk: [] for o in orgs}
    for m in memberships:
        members_of[m.organization_id].append(m)

    # --- Workgroups ---------------------------------------------------------------------
    groups: dict[int, list[Workgroup]] = {}
    all_groups: list[Workgroup] = []
    for org in orgs:
        names = rng.sample(WORKGROUPS, rng.randint(3, 5))
        if org is orgs[0]:
            names = ["Panadería", "Feria de consumo", "Logística y transporte"]
        groups[org.pk] = [
            Workgroup(uuid=_uuid(rng), organization=org, name=n, description="") for n in names
        ]
        all_groups.extend(groups[org.pk])
    Workgroup.objects.bulk_create(all_groups)
    all_groups = list(Workgroup.objects.filter(organization__in=orgs).order_by("pk"))
    groups = {o.pk: [] for o in orgs}
    for g in all_groups:
        groups[g.organization_id].append(g)
    links: list[WorkgroupMember] = []
    for org in orgs:
        for m in members_of[org.pk]:
            chosen = rng.sample(groups[org.pk], 2 if rng.random() < 0.15 else 1)
            links.extend(
                WorkgroupMember(workgroup=g, membership=m, since=m.joined_on) for g in chosen
            )
    WorkgroupMember.objects.bulk_create(links)

    # --- Decisions, rules and mandates --------------------------------------------------
    decisions: list[Decision] = []
    plan: dict[int, dict[str, Any]] = {}
    for org in orgs:
        founders = members_of[org.pk][:3]
        founder_names = ", ".join(m.display_name for m in founders)
        founded = org.created_at
        rows = [
            Decision(
                uuid=_uuid(rng),
                organization=org,
                number=1,
                title=f"Fundación de {org.name}",
                text=f"La asamblea fundacional constituye {org.name} con las personas "
                f"fundadoras {founder_names}, adopta su primer reglamento y otorga los "
                "primeros mandatos.",
                decided_at=founded,
                body="Asamblea fundacional",
                recorded_by=founders[0].person,
            )
        ]
        topics = rng.sample(TOPICS, rng.randint(4, 8))
        reform = rng.random() < 0.5 or org is orgs[0]
        dates = sorted(rng.uniform(40, (anchor - founded).days - 1) for _ in topics)[::-1]
        for (title, text), ago in zip(topics, dates, strict=True):
            rows.append(
                Decision(
                    uuid=_uuid(rng),
                    organization=org,
                    number=len(rows) + 1,
                    title=title,
                    text=text,
                    decided_at=days_ago(ago),
                    body=rng.choice(
                        [
                            "Asamblea general",
                            "Asamblea general",
                            f"Grupo de {groups[org.pk][0].name.lower()}",
                        ]
                    ),
                    review_on=today + timedelta(days=rng.randint(20, 200))
                    if rng.random() < 0.3
                    else None,
                    recorded_by=founders[0].person,
                )
            )
        if reform:
            rows.append(
                Decision(
                    uuid=_uuid(rng),
                    organization=org,
                    number=len(rows) + 1,
                    title="Reforma del reglamento: quórum y períodos",
                    text="El quórum pasa a ser el 40 % de las personas activas y los mandatos "
                    "duran 120 días, con un período de descanso antes de repetir.",
                    decided_at=days_ago(rng.randint(45, 90)),
                    body="Asamblea general",
                    recorded_by=founders[0].person,
                )
            )
        term_start = days_ago(rng.randint(5, 35))
        rows.append(
            Decision(
                uuid=_uuid(rng),
                organization=org,
                number=len(rows) + 1,
                title="Mandatos de facilitación, relatoría y coordinación del período",
                text="La asamblea otorga por rotación los mandatos de facilitación, relatoría, "
                "coordinación de turnos y secretaría de membresía hasta la fecha indicada.",
                decided_at=term_start,
                body="Asamblea general",
                recorded_by=founders[0].person,
            )
        )
        if len(rows) > 4 and rng.random() < 0.4:
            rows[2].status = Decision.Status.REVOKED
        decisions.extend(rows)
        plan[org.pk] = {"reform": reform, "term_start": term_start}
    fed_rows = [
        Decision(
            uuid=_uuid(rng),
            federation=federation,
            number=1,
            title="Constitución de la red",
            text="Las organizaciones fundadoras constituyen la red y acuerdan reunirse en "
            "asamblea de la red cada mes.",
            decided_at=federation.created_at,
            body="Asamblea de la red",
        ),
        Decision(
            uuid=_uuid(rng),
            federation=federation,
            number=2,
            title="Revisión de actas entre organizaciones",
            text="Cada organización publica a la red sus actas aprobadas; las revisoras "
            "nombradas por la asamblea de la red las leen y preguntan.",
            decided_at=days_ago(400),
            body="Asamblea de la red",
        ),
        Decision(
            uuid=_uuid(rng),
            federation=federation,
            number=3,
            title="Revisoras y delegados del período",
            text="La asamblea de la red nombra a sus revisoras de actas y a sus delegados "
            "para este período.",
            decided_at=days_ago(20),
            body="Asamblea de la red",
        ),
    ]
    decisions.extend(fed_rows)
    Decision.objects.bulk_create(decisions)
    saved = {
        (d.organization_id, d.federation_id, d.number): d
        for d in Decision.objects.filter(pk__in=[d.pk for d in decisions])
    }

    rulesets: list[RuleSet] = []
    mandates: list[Mandate] = []
    excluded = {"beto"}
    for org in orgs:
        n_decisions = max(k[2] for k in saved if k[0] == org.pk)
        founding = saved[(org.pk, None, 1)]
        rulesets.append(
            RuleSet(
                organization=org,
                version=1,
                adopted_by=founding,
                valid_from=org.created_at,
                quorum_percent=50,
                decision_rule="consensus",
                fallback="supermajority_after_second_round",
            )
        )
        if plan[org.pk]["reform"]:
            reform_decision = saved[(org.pk, None, n_decisions - 1)]
            rulesets.append(
                RuleSet(
                    organization=org,
                    version=2,
                    adopted_by=reform_decision,
                    valid_from=reform_decision.decided_at,
                    quorum_percent=40,
                    default_term_days=120,
                    decision_rule="consensus",
                    fallback="supermajority_after_second_round",
                )
            )
        term_decision = saved[(org.pk, None, n_decisions)]
        starts = plan[org.pk]["term_start"]
        active = [
            m
            for m in members_of[org.pk]
            if m.status == Membership.Status.ACTIVE and m.person.username not in excluded
        ]
        pool = [m for m in active if m.person.username not in demo_people]
        holders: list[tuple[Membership, str]] = []
        if org is orgs[0]:
            ana = next(m for m in active if m.person.username == "ana")
            holders.append((ana, Mandate.Role.FACILITATOR))
        else:
            holders.append((rng.choice(pool), Mandate.Role.FACILITATOR))
        if org.pk == orgs[min(1, len(orgs) - 1)].pk and len(orgs) > 1:
            carla = next(m for m in active if m.person.username == "carla")
            holders.append((carla, Mandate.Role.MINUTE_TAKER))
        else:
            holders.append((rng.choice(pool), Mandate.Role.MINUTE_TAKER))
        for org_role in (Mandate.Role.ROSTER_COORDINATOR, Mandate.Role.MEMBERSHIP_SECRETARY):
            holders.append((rng.choice(pool), org_role))
        if org.kind == Organization.Kind.FACTORY:
            holders.append((rng.choice(pool), Mandate.Role.LINE_COORDINATOR))
        term = 120 if plan[org.pk]["reform"] else 180
        for membership, role in holders:
            mandates.append(
                Mandate(
                    uuid=_uuid(rng),
                    membership=membership,
                    role=role,
                    scope_kind=Mandate.ScopeKind.ORGANIZATION,
                    starts_at=starts,
                    ends_at=starts + timedelta(days=term),
                    source_decision=term_decision,
                )
            )
        # A workgroup coordinator for the bakery-like first group.
        mandates.append(
            Mandate(
                uuid=_uuid(rng),
                membership=rng.choice(pool),
                role=Mandate.Role.ROSTER_COORDINATOR,
                scope_kind=Mandate.ScopeKind.WORKGROUP,
                workgroup=groups[org.pk][0],
                starts_at=starts,
                ends_at=starts + timedelta(days=term),
                source_decision=term_decision,
            )
        )
    RuleSet.objects.bulk_create(rulesets)

    fed_term = saved[(None, federation.pk, 3)]
    rita = next(m for m in memberships if m.person.username == "rita")
    fed_holders: list[tuple[Membership, str]] = [(rita, Mandate.Role.FEDERATION_REVIEWER)]
    for org in rng.sample(orgs[3:], min(len(orgs) - 3, 5)):
        reviewer = next(m for m in members_of[org.pk] if m.status == Membership.Status.ACTIVE)
        fed_holders.append((reviewer, Mandate.Role.FEDERATION_REVIEWER))
    for org in rng.sample(orgs, min(len(orgs), 8)):
        delegate = members_of[org.pk][-1]
        if delegate.status == Membership.Status.ACTIVE and delegate.person.username not in (
            excluded
        ):
            fed_holders.append((delegate, Mandate.Role.DELEGATE))
    for holder, fed_role in fed_holders:
        mandates.append(
            Mandate(
                uuid=_uuid(rng),
                membership=holder,
                role=fed_role,
                scope_kind=Mandate.ScopeKind.FEDERATION,
                federation=federation,
                starts_at=fed_term.decided_at,
                ends_at=fed_term.decided_at + timedelta(days=365),
                source_decision=fed_term,
            )
        )
    # One expired mandate in the first organisation, so the history shows rotation.
    first_org_pool = [m for m in members_of[orgs[0].pk] if m.person.username not in demo_people]
    mandates.append(
        Mandate(
            uuid=_uuid(rng),
            membership=first_org_pool[0],
            role=Mandate.Role.FACILITATOR,
            scope_kind=Mandate.ScopeKind.ORGANIZATION,
            starts_at=days_ago(400),
            ends_at=days_ago(220),
            source_decision=saved[(orgs[0].pk, None, 1)],
        )
    )
    Mandate.objects.bulk_create(mandates)

    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                at=anchor,
                action="demo.seed",
                federation=federation,
                object_kind="Federation",
                object_uuid=str(federation.uuid),
                data={"organizations": len(orgs), "members": len(memberships)},
            )
        ]
        + [
            AuditEntry(
                at=anchor,
                action="demo.seed",
                organization=o,
                object_kind="Organization",
                object_uuid=str(o.uuid),
                data={"members": len(members_of[o.pk])},
            )
            for o in orgs
        ]
    )
    stats = {
        "organizations": len(orgs),
        "members": len(memberships),
        "mandates": len(mandates),
        "decisions": len(decisions),
    }
    # The other apps' demo data (economy, programmes...), registered in their AppConfig.ready.
    network = {
        "federation": federation,
        "organizations": orgs,
        "members_of": members_of,
        "people": {m.person.username: m for m in memberships if m.person.username in DEMO_LOGINS},
        "anchor": anchor,
    }
    for name, seeder in app_demos.seeders():
        for key, value in seeder(rng=rng, small=small, network=network).items():
            stats[f"{name}.{key}"] = value
    return stats


__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "seed"]
