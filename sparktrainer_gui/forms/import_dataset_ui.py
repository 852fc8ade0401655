# fmt: off
# ruff: noqa
# Generated from ui/import_dataset.ui by `python -m sparktrainer_gui.forms`: edit the .ui file, not this one.
# -*- coding: utf-8 -*-

################################################################################
## Form generated from reading UI file 'import_dataset.ui'
##
##
## WARNING! All changes made in this file will be lost when recompiling UI file!
################################################################################

from PySide6.QtCore import (QCoreApplication, QDate, QDateTime, QLocale,
    QMetaObject, QObject, QPoint, QRect,
    QSize, QTime, QUrl, Qt)
from PySide6.QtGui import (QBrush, QColor, QConicalGradient, QCursor,
    QFont, QFontDatabase, QGradient, QIcon,
    QImage, QKeySequence, QLinearGradient, QPainter,
    QPalette, QPixmap, QRadialGradient, QTransform)
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QDialog,
    QFormLayout, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QListView, QListWidget, QListWidgetItem,
    QProgressBar, QPushButton, QSizePolicy, QSpacerItem,
    QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget)

class Ui_ImportDatasetForm(object):
    def setupUi(self, ImportDatasetForm):
        if not ImportDatasetForm.objectName():
            ImportDatasetForm.setObjectName(u"ImportDatasetForm")
        ImportDatasetForm.resize(600, 540)
        self.main_layout = QVBoxLayout(ImportDatasetForm)
        self.main_layout.setObjectName(u"main_layout")
        self.fields_layout = QFormLayout()
        self.fields_layout.setObjectName(u"fields_layout")
        self.source_caption = QLabel(ImportDatasetForm)
        self.source_caption.setObjectName(u"source_caption")

        self.fields_layout.setWidget(0, QFormLayout.ItemRole.LabelRole, self.source_caption)

        self.source_label = QLabel(ImportDatasetForm)
        self.source_label.setObjectName(u"source_label")
        self.source_label.setWordWrap(True)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.fields_layout.setWidget(0, QFormLayout.ItemRole.FieldRole, self.source_label)

        self.format_caption = QLabel(ImportDatasetForm)
        self.format_caption.setObjectName(u"format_caption")

        self.fields_layout.setWidget(1, QFormLayout.ItemRole.LabelRole, self.format_caption)

        self.format_combo = QComboBox(ImportDatasetForm)
        self.format_combo.setObjectName(u"format_combo")

        self.fields_layout.setWidget(1, QFormLayout.ItemRole.FieldRole, self.format_combo)

        self.modality_caption = QLabel(ImportDatasetForm)
        self.modality_caption.setObjectName(u"modality_caption")

        self.fields_layout.setWidget(2, QFormLayout.ItemRole.LabelRole, self.modality_caption)

        self.modality_combo = QComboBox(ImportDatasetForm)
        self.modality_combo.setObjectName(u"modality_combo")

        self.fields_layout.setWidget(2, QFormLayout.ItemRole.FieldRole, self.modality_combo)

        self.summary_caption = QLabel(ImportDatasetForm)
        self.summary_caption.setObjectName(u"summary_caption")

        self.fields_layout.setWidget(3, QFormLayout.ItemRole.LabelRole, self.summary_caption)

        self.summary_label = QLabel(ImportDatasetForm)
        self.summary_label.setObjectName(u"summary_label")
        self.summary_label.setWordWrap(True)

        self.fields_layout.setWidget(3, QFormLayout.ItemRole.FieldRole, self.summary_label)

        self.name_caption = QLabel(ImportDatasetForm)
        self.name_caption.setObjectName(u"name_caption")

        self.fields_layout.setWidget(4, QFormLayout.ItemRole.LabelRole, self.name_caption)

        self.name_edit = QLineEdit(ImportDatasetForm)
        self.name_edit.setObjectName(u"name_edit")

        self.fields_layout.setWidget(4, QFormLayout.ItemRole.FieldRole, self.name_edit)

        self.name_error = QLabel(ImportDatasetForm)
        self.name_error.setObjectName(u"name_error")
        self.name_error.setWordWrap(True)
        self.name_error.setProperty(u"role", u"error")

        self.fields_layout.setWidget(5, QFormLayout.ItemRole.FieldRole, self.name_error)


        self.main_layout.addLayout(self.fields_layout)

        self.preview_label = QLabel(ImportDatasetForm)
        self.preview_label.setObjectName(u"preview_label")

        self.main_layout.addWidget(self.preview_label)

        self.preview_stack = QStackedWidget(ImportDatasetForm)
        self.preview_stack.setObjectName(u"preview_stack")
        self.thumb_list = QListWidget()
        self.thumb_list.setObjectName(u"thumb_list")
        self.thumb_list.setMinimumSize(QSize(0, 120))
        self.thumb_list.setIconSize(QSize(72, 72))
        self.thumb_list.setMovement(QListView.Movement.Static)
        self.thumb_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.thumb_list.setGridSize(QSize(96, 100))
        self.thumb_list.setViewMode(QListView.ViewMode.IconMode)
        self.preview_stack.addWidget(self.thumb_list)
        self.rows_table = QTableWidget()
        self.rows_table.setObjectName(u"rows_table")
        self.rows_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview_stack.addWidget(self.rows_table)

        self.main_layout.addWidget(self.preview_stack)

        self.status_label = QLabel(ImportDatasetForm)
        self.status_label.setObjectName(u"status_label")
        self.status_label.setWordWrap(True)

        self.main_layout.addWidget(self.status_label)

        self.progress = QProgressBar(ImportDatasetForm)
        self.progress.setObjectName(u"progress")
        self.progress.setVisible(False)

        self.main_layout.addWidget(self.progress)

        self.buttons_layout = QHBoxLayout()
        self.buttons_layout.setObjectName(u"buttons_layout")
        self.buttons_spacer = QSpacerItem(0, 0, QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

        self.buttons_layout.addItem(self.buttons_spacer)

        self.cancel_button = QPushButton(ImportDatasetForm)
        self.cancel_button.setObjectName(u"cancel_button")

        self.buttons_layout.addWidget(self.cancel_button)

        self.import_button = QPushButton(ImportDatasetForm)
        self.import_button.setObjectName(u"import_button")

        self.buttons_layout.addWidget(self.import_button)


        self.main_layout.addLayout(self.buttons_layout)

#if QT_CONFIG(shortcut)
        self.format_caption.setBuddy(self.format_combo)
        self.modality_caption.setBuddy(self.modality_combo)
        self.name_caption.setBuddy(self.name_edit)
#endif // QT_CONFIG(shortcut)
        QWidget.setTabOrder(self.format_combo, self.modality_combo)
        QWidget.setTabOrder(self.modality_combo, self.name_edit)
        QWidget.setTabOrder(self.name_edit, self.import_button)
        QWidget.setTabOrder(self.import_button, self.cancel_button)

        self.retranslateUi(ImportDatasetForm)

        self.import_button.setDefault(True)


        QMetaObject.connectSlotsByName(ImportDatasetForm)
    # setupUi

    def retranslateUi(self, ImportDatasetForm):
        ImportDatasetForm.setWindowTitle(QCoreApplication.translate("ImportDatasetForm", u"Import a dataset", None))
        self.source_caption.setText(QCoreApplication.translate("ImportDatasetForm", u"Source", None))
        self.format_caption.setText(QCoreApplication.translate("ImportDatasetForm", u"&Format", None))
#if QT_CONFIG(tooltip)
        self.format_combo.setToolTip(QCoreApplication.translate("ImportDatasetForm", u"The detected format; choose another to read the files differently", None))
#endif // QT_CONFIG(tooltip)
        self.modality_caption.setText(QCoreApplication.translate("ImportDatasetForm", u"&Modality", None))
        self.summary_caption.setText(QCoreApplication.translate("ImportDatasetForm", u"Contents", None))
        self.summary_label.setText(QCoreApplication.translate("ImportDatasetForm", u"Reading\u2026", None))
        self.name_caption.setText(QCoreApplication.translate("ImportDatasetForm", u"&Name", None))
        self.name_edit.setPlaceholderText(QCoreApplication.translate("ImportDatasetForm", u"letters, digits, '.', '_' or '-'", None))
        self.preview_label.setText(QCoreApplication.translate("ImportDatasetForm", u"Preview", None))
        self.cancel_button.setText(QCoreApplication.translate("ImportDatasetForm", u"Cancel", None))
        self.import_button.setText(QCoreApplication.translate("ImportDatasetForm", u"Import", None))
    # retranslateUi
