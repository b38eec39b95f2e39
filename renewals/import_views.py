"""The renewal history import's page: the upload queues an import job and goes to its page."""

from django.shortcuts import redirect, render

from accounts.models import ImportJob
from accounts.permissions import admin_required
from accounts.selectors import recent_imports
from accounts.services import import_job_create
from core.htmx import form_status
from renewals.import_forms import RenewalImportForm
from renewals.models import ChurnReason


@admin_required
def renewal_import(request):
    """For those who import accounts (admins): the job's page follows the checking and the import."""
    form = RenewalImportForm(request.POST, request.FILES) if request.method == "POST" else RenewalImportForm()
    if request.method == "POST" and form.is_valid():
        filename, text = form.cleaned_data["renewals_file"]
        job = import_job_create(
            kind=ImportJob.Kind.RENEWALS, files={"renewals": text}, filenames=filename, created_by=request.user
        )
        return redirect(job)
    context = {
        "form": form,
        "recent": recent_imports(ImportJob.Kind.RENEWALS),
        "reasons": ChurnReason.objects.values_list("name", flat=True),
    }
    return render(request, "renewals/renewal_import.html", context, status=form_status(form))
