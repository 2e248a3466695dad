from django.urls import path

from rotation import views

app_name = "rotation"
urlpatterns = [
    path("o/<slug:slug>/rotation/", views.home, name="home"),
    path("o/<slug:slug>/rotation/posts/", views.posts, name="posts"),
    path("o/<slug:slug>/rotation/rosters/new/", views.roster_new, name="roster-new"),
    path("o/<slug:slug>/rotation/fairness/", views.fairness, name="fairness"),
    path("o/<slug:slug>/rotation/qualifications/", views.qualifications, name="qualifications"),
    path("o/<slug:slug>/rotation/availability/", views.availability, name="availability"),
    path("o/<slug:slug>/rotation/calendar/reset/", views.calendar_reset, name="calendar-reset"),
    path("rotation/rosters/<uuid:uuid>/", views.roster_detail, name="roster"),
    path("rotation/rosters/<uuid:uuid>/publish/", views.roster_publish, name="roster-publish"),
    path("rotation/rosters/<uuid:uuid>/withdraw/", views.roster_withdraw, name="roster-withdraw"),
    path("rotation/slots/<uuid:uuid>/", views.slot_detail, name="slot"),
    path("rotation/assignments/<uuid:uuid>/", views.assignment_detail, name="assignment"),
    path("rotation/assignments/<uuid:uuid>/offer/", views.assignment_offer, name="offer"),
    path(
        "rotation/assignments/<uuid:uuid>/withdraw/",
        views.assignment_withdraw,
        name="offer-withdraw",
    ),
    path("rotation/assignments/<uuid:uuid>/take/", views.assignment_take, name="take"),
    path("rotation/assignments/<uuid:uuid>/swap/", views.assignment_swap, name="swap"),
    path("rotation/assignments/<uuid:uuid>/reassign/", views.assignment_reassign, name="reassign"),
    path(
        "rotation/assignments/<uuid:uuid>/attendance/",
        views.assignment_attendance,
        name="attendance",
    ),
    path("rotation/swaps/<uuid:uuid>/", views.swap_answer, name="swap-answer"),
    path(
        "rotation/availability/<uuid:uuid>/remove/",
        views.availability_remove,
        name="availability-remove",
    ),
    path("rotation/calendar/<str:token>.ics", views.calendar_member, name="calendar-member"),
    path(
        "rotation/calendar/<str:token>/rosters/<uuid:uuid>.ics",
        views.calendar_roster,
        name="calendar-roster",
    ),
]
