from django.urls import path

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common import messages, notifications
from caredoor.portals.common.auth_views import portal_login
from caredoor.portals.organization import (
    assisted,
    audit,
    booking_policy,
    brands,
    finances,
    intake,
    listings,
    matching_settings,
    members,
    onboarding,
    packages,
    payouts,
    relationships,
    specialists,
    views,
    vouchers,
)
from caredoor.portals.organization import consents as consent_views
from caredoor.portals.organization import feedback as feedback_views

app_name = "organization"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("account/", views.account_view, name="account"),
    *notifications.urls(Portal.ORGANIZATION),
    *messages.urls(Portal.ORGANIZATION),
    path("login/", portal_login, {"portal": Portal.ORGANIZATION}, name="login"),
    path("brands/", brands.brand_list, name="brands"),
    path("brands/new/", brands.brand_create, name="brand_new"),
    path("brands/<int:brand_id>/", brands.brand_edit, name="brand_edit"),
    path(
        "brands/<int:brand_id>/booking-rules/",
        booking_policy.brand_booking_policy,
        name="brand_booking_policy",
    ),
    path(
        "brands/<int:brand_id>/matching/",
        matching_settings.brand_matching,
        name="brand_matching",
    ),
    path("brands/<int:brand_id>/domains/", brands.domain_add, name="domain_add"),
    path(
        "brands/<int:brand_id>/domains/<int:domain_id>/primary/",
        brands.domain_make_primary,
        name="domain_primary",
    ),
    path(
        "brands/<int:brand_id>/domains/<int:domain_id>/remove/",
        brands.domain_remove,
        name="domain_remove",
    ),
    path("members/", members.member_list, name="members"),
    path("members/invite/", members.member_invite, name="member_invite"),
    path("members/<int:membership_id>/revoke/", members.member_revoke, name="member_revoke"),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
    path("audit/", audit.audit_trail, name="audit"),
    # patient feedback: results, comments, and a brand's questions
    path("feedback/", feedback_views.overview, name="feedback"),
    path(
        "feedback/brands/<int:brand_id>/comments/",
        feedback_views.comments,
        name="feedback_comments",
    ),
    path("brands/<int:brand_id>/feedback/", feedback_views.brand_settings, name="brand_feedback"),
    # money (the network operator's): finances, payouts, vouchers, packages (docs/payments.md)
    path("finances/", finances.overview, name="finances"),
    path("finances/payments/<int:payment_id>/", finances.payment_detail, name="finance_payment"),
    path(
        "finances/payments/<int:payment_id>/refund/",
        finances.payment_refund,
        name="finance_refund",
    ),
    path("payouts/", payouts.run_list, name="payouts"),
    path("payouts/brands/<int:brand_id>/new/", payouts.run_create, name="payout_new"),
    path("payouts/<int:run_id>/", payouts.run_detail, name="payout_run"),
    path("payouts/<int:run_id>/csv/", payouts.run_csv, name="payout_csv"),
    path("payouts/lines/<int:line_id>/paid/", payouts.line_paid, name="payout_paid"),
    path("vouchers/", vouchers.voucher_list, name="vouchers"),
    path("vouchers/brands/<int:brand_id>/new/", vouchers.voucher_create, name="voucher_new"),
    path("vouchers/<int:voucher_id>/end/", vouchers.voucher_end, name="voucher_end"),
    path("packages/", packages.offer_list, name="packages"),
    path("packages/brands/<int:brand_id>/new/", packages.offer_create, name="package_new"),
    path("packages/<int:offer_id>/", packages.offer_edit, name="package_edit"),
    path("packages/<int:offer_id>/retire/", packages.offer_retire, name="package_retire"),
    path("packages/<int:offer_id>/offer-again/", packages.offer_again, name="package_again"),
    # assisted scheduling: patients' requests waiting for a specialist
    path("assisted/", assisted.queue, name="assisted"),
    path("assisted/<int:request_id>/", assisted.detail, name="assisted_detail"),
    path("assisted/<int:request_id>/allocate/", assisted.allocate, name="assisted_allocate"),
    path("assisted/<int:request_id>/close/", assisted.close, name="assisted_close"),
    path("relationships/", relationships.relationship_list, name="relationships"),
    # specialists: review, relationship, files
    path("specialists/", specialists.queue, name="specialists"),
    path("specialists/<int:profile_id>/", specialists.review, name="specialist_review"),
    path("specialists/<int:profile_id>/decide/", specialists.decide, name="specialist_decide"),
    path(
        "specialists/<int:profile_id>/relationship/",
        specialists.relationship,
        name="specialist_relationship",
    ),
    path("specialists/<int:profile_id>/photo/", specialists.photo, name="specialist_photo"),
    path(
        "specialists/<int:profile_id>/photo/published/",
        specialists.published_photo,
        name="specialist_published_photo",
    ),
    path(
        "specialists/<int:profile_id>/documents/<int:document_id>/",
        specialists.document,
        name="specialist_document",
    ),
    # listings on brands
    path("listings/", listings.listing_list, name="listings"),
    path("listings/<int:listing_id>/status/", listings.listing_status, name="listing_status"),
    path("listings/<int:listing_id>/price/", listings.listing_price_edit, name="listing_price"),
    path("listings/<int:listing_id>/billing/", listings.listing_billing, name="listing_billing"),
    # onboarding steps and the network's terms
    path("onboarding/", onboarding.overview, name="onboarding"),
    path("onboarding/network/", onboarding.edit_network, name="onboarding_network"),
    path("onboarding/network/reset/", onboarding.reset_network, name="onboarding_network_reset"),
    path("onboarding/brands/<int:brand_id>/", onboarding.edit_brand, name="onboarding_brand"),
    path(
        "onboarding/brands/<int:brand_id>/reset/",
        onboarding.reset_brand,
        name="onboarding_brand_reset",
    ),
    path("onboarding/terms/", onboarding.terms, name="terms"),
    path("onboarding/terms/add/", onboarding.term_add, name="term_add"),
    path("onboarding/terms/<int:term_id>/rename/", onboarding.term_rename, name="term_rename"),
    path("onboarding/terms/<int:term_id>/delete/", onboarding.term_delete, name="term_delete"),
    # intake questionnaires (docs/intake.md)
    path("intake/", intake.intake_list, name="intake"),
    path("intake/<int:questionnaire_id>/", intake.intake_detail, name="intake_detail"),
    path("intake/<int:questionnaire_id>/preview/", intake.intake_preview, name="intake_preview"),
    path(
        "intake/<int:questionnaire_id>/versions/<int:number>/",
        intake.intake_preview,
        name="intake_version",
    ),
    path("intake/<int:questionnaire_id>/publish/", intake.intake_publish, name="intake_publish"),
    path("intake/<int:questionnaire_id>/discard/", intake.intake_discard, name="intake_discard"),
    path(
        "intake/<int:questionnaire_id>/questions/add/",
        intake.question_add,
        name="intake_question_add",
    ),
    path(
        "intake/<int:questionnaire_id>/questions/<slug:key>/",
        intake.question_edit,
        name="intake_question_edit",
    ),
    path(
        "intake/<int:questionnaire_id>/questions/<slug:key>/remove/",
        intake.question_remove,
        name="intake_question_remove",
    ),
    path(
        "intake/<int:questionnaire_id>/questions/<slug:key>/move/",
        intake.question_move,
        name="intake_question_move",
    ),
    # consent documents and patients' consent status
    path("consents/", consent_views.document_list, name="consents"),
    path("consents/new/", consent_views.document_create, name="consent_new"),
    path("consents/status/", consent_views.consent_status_page, name="consent_status"),
    path(
        "consents/<int:document_id>/",
        consent_views.document_detail,
        name="consent_document",
    ),
    path(
        "consents/<int:document_id>/active/",
        consent_views.document_active,
        name="consent_active",
    ),
]
