"""Payment links and the payment provider's webhook.

GET /pay/<payment>/<check>: the link a WhatsApp or web-chat client got; opens (or reuses) a
Stripe Checkout Session and redirects there. POST /webhook/payments/stripe: verified with
stripe.Webhook.construct_event (signature and timestamp tolerance); a forgery or a stale replay
gets 400 and changes nothing; the same event again (Stripe retries until it sees a 2xx) gets 200
and changes nothing. `checkout.session.completed` pays, `charge.refunded` refunds (bot/payments/).
Another practitioner's Stripe (bot/platform/tenants.py, her own keys): GET /pay/<slug>/<payment>/<check>
and POST /webhook/payments/stripe/<slug>, verified with her own signing secret.
Handling is inline: Stripe re-sends after any non-2xx for days, so a transient failure here is a
500 and a later retry, never a loss.
"""

import logging
from typing import Annotated

import stripe
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from bot.payments import PAY_PATH, Payments
from handlers.limits import RowId

log = logging.getLogger(__name__)

router = APIRouter(tags=["payments"])
STRIPE_WEBHOOK_PATH = "/webhook/payments/stripe"


async def get_payments(request: Request) -> Payments:
    payments = getattr(request.app.state, "payments", None)
    if payments is None or payments.stripe is None:
        raise HTTPException(status_code=404)
    return payments


PaymentsDep = Annotated[Payments, Depends(get_payments)]


@router.get(PAY_PATH + "/{payment_id}/{check}", response_class=RedirectResponse, status_code=303)
async def pay_link(payment_id: RowId, check: str, payments: PaymentsDep) -> RedirectResponse:
    url = await payments.checkout_url(payment_id, check)
    if not url:
        raise HTTPException(status_code=404, detail="this payment link is no longer valid")
    return RedirectResponse(url, status_code=303)


@router.post(STRIPE_WEBHOOK_PATH, status_code=200, response_class=Response)
async def stripe_webhook(
    request: Request,
    payments: PaymentsDep,
    signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> Response:
    assert payments.stripe is not None
    body = await request.body()
    try:
        event = payments.stripe.verify(body, signature)
    except (ValueError, stripe.SignatureVerificationError) as error:
        log.warning("Stripe webhook refused: %s", type(error).__name__)
        raise HTTPException(status_code=400, detail="bad signature") from error
    await payments.stripe_event(event)
    return Response(status_code=200)


# Another practitioner's Stripe account: her links and her webhook, each checked with her keys.
practitioner_router = APIRouter(tags=["payments"])


async def her_payments(slug: str, request: Request) -> Payments:
    platform = request.app.state.platform
    tenant = await platform.by_slug(slug) if len(slug) <= 64 else None
    if tenant is None or tenant.practitioner_id == platform.default_id:
        raise HTTPException(status_code=404)
    if tenant.payments is None or tenant.payments.stripe is None:
        raise HTTPException(status_code=404)
    return tenant.payments


HerPaymentsDep = Annotated[Payments, Depends(her_payments)]


@practitioner_router.get(
    PAY_PATH + "/{slug}/{payment_id}/{check}", response_class=RedirectResponse, status_code=303, include_in_schema=False
)
async def her_pay_link(payment_id: RowId, check: str, payments: HerPaymentsDep) -> RedirectResponse:
    return await pay_link(payment_id, check, payments)


@practitioner_router.post(
    STRIPE_WEBHOOK_PATH + "/{slug}", status_code=200, response_class=Response, include_in_schema=False
)
async def her_stripe_webhook(
    request: Request,
    payments: HerPaymentsDep,
    signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> Response:
    return await stripe_webhook(request, payments, signature)
